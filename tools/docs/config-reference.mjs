#!/usr/bin/env node
// Writes docs/reference/config.md, the config reference of the docs site, from the JSON Schema
// that `supcon schema` prints: `configJsonSchema(createRegistry(builtinPlugins), { defaults:
// builtinDefaults })`, every config slot, every registered part type of each slot and its options
// (type, default, constraints, description). It imports the built packages (dist/): `npm run
// docs:build` builds them first through nx. The top-level keys' descriptions come from the doc
// comments of SupconConfigInput, TrainConfig and CheckpointConfig in packages/core/src/config.ts
// where the schema has none.
//
//   node tools/docs/config-reference.mjs [--out docs/reference/config.md] [--check]
//
// --check exits 1 when the file on disk differs from what would be written (nothing is written).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  CONFIG_LIST_SLOTS,
  CONFIG_PART_SLOTS,
  configJsonSchema,
  createRegistry,
} from '@supcon/core';
import { builtinDefaults, builtinPlugins } from '@supcon/train';
import console from 'node:console';
import process from 'node:process';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const outFile = path.resolve(root, outArg >= 0 ? args[outArg + 1] : 'docs/reference/config.md');
const check = args.includes('--check');

const registry = createRegistry(builtinPlugins);
const schema = configJsonSchema(registry, { defaults: builtinDefaults });

/** Doc comments of the members of the config interfaces in core's config.ts, by interface. */
function configDocComments() {
  const file = path.join(root, 'packages/core/src/config.ts');
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const docs = {};
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node)) return;
    const members = {};
    for (const member of node.members) {
      const name = member.name && ts.isIdentifier(member.name) ? member.name.text : undefined;
      const jsDoc = member.jsDoc?.[0];
      if (!name || !jsDoc?.comment) continue;
      members[name] = (
        typeof jsDoc.comment === 'string' ? jsDoc.comment : ts.getTextOfJSDocComment(jsDoc.comment)
      )
        .replace(/\s+/g, ' ')
        .trim();
    }
    docs[node.name.text] = members;
  });
  return docs;
}
const docComments = configDocComments();

// ---- rendering of JSON Schema values as markdown ----

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Text for a markdown table cell: no pipes, no newlines, no raw angle brackets. */
function cell(text) {
  return String(text)
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** A value as inline code (backticks inside are doubled out of the way). */
function code(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** The type of a schema as a list of alternatives, each already markdown (inline code). */
function typeAlternatives(s) {
  if (s === true || s === undefined || (typeof s === 'object' && Object.keys(s).length === 0))
    return [code('any')];
  if (s.const !== undefined) return [code(JSON.stringify(s.const))];
  if (Array.isArray(s.enum)) return s.enum.map((v) => code(JSON.stringify(v)));
  const union = s.anyOf ?? s.oneOf;
  if (Array.isArray(union)) return union.flatMap((member) => typeAlternatives(member));
  if (Array.isArray(s.type)) return s.type.map((t) => code(t));
  if (s.type === 'array') {
    if (Array.isArray(s.prefixItems))
      return [code(`[${s.prefixItems.map((item) => plainType(item)).join(', ')}]`)];
    return [code(`${plainType(s.items)}[]`)];
  }
  if (s.type === 'object') {
    if (s.properties) return [code('object')];
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      return [code(`Record<string, ${plainType(s.additionalProperties)}>`)];
    return [code('object')];
  }
  return [code(s.type ?? 'any')];
}

/** The type of a schema as plain text (for use inside one code span). */
function plainType(s) {
  const alternatives = typeAlternatives(s).map((alt) => alt.replace(/^`+ ?| ?`+$/g, ''));
  const text = alternatives.join(' | ');
  return alternatives.length > 1 && s?.type === undefined && !s?.enum ? `(${text})` : text;
}

/** The constraints of a schema, in words. */
function constraints(s) {
  if (!s || typeof s !== 'object') return [];
  const out = [];
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined && s.maximum !== MAX_SAFE) out.push(`≤ ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) out.push(`< ${s.exclusiveMaximum}`);
  if (s.minLength !== undefined)
    out.push(`at least ${s.minLength} character${s.minLength === 1 ? '' : 's'}`);
  if (s.minItems !== undefined && s.minItems === s.maxItems)
    out.push(`exactly ${s.minItems} items`);
  else {
    if (s.minItems !== undefined)
      out.push(`at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`);
    if (s.maxItems !== undefined) out.push(`at most ${s.maxItems} items`);
  }
  if (s.type === 'array' && s.items && typeof s.items === 'object') {
    const inner = constraints(s.items);
    if (inner.length) out.push(`each ${inner.join(', ')}`);
  }
  return out;
}

/** The object-typed member of a schema that has properties (options nested one level down). */
function nestedObject(s) {
  if (s?.type === 'object' && s.properties) return s;
  const union = s?.anyOf ?? s?.oneOf;
  return Array.isArray(union) ? union.find((m) => m?.type === 'object' && m.properties) : undefined;
}

/**
 * Rows of an options table: one per property, and one per property of an object-valued option
 * (`colorJitter.brightness`), so that nothing the schema allows is left out.
 */
function optionRows(properties, required, describe, prefix = '') {
  const rows = [];
  for (const [name, s] of Object.entries(properties)) {
    if (!prefix && name === 'type') continue;
    const key = `${prefix}${name}`;
    const description = [s.description ?? describe(key), constraints(s).join(', ')]
      .filter(Boolean)
      .join(' — ');
    rows.push(
      `| ${code(key)} | ${typeAlternatives(s).map(cell).join(' \\| ')} | ${s.default !== undefined ? cell(code(JSON.stringify(s.default))) : required.includes(name) ? '**required**' : '—'} | ${cell(description) || '—'} |`,
    );
    const nested = nestedObject(s);
    if (nested)
      rows.push(...optionRows(nested.properties, nested.required ?? [], describe, `${key}.`));
  }
  return rows;
}

function optionsTable(properties, required, describe = () => '') {
  const rows = optionRows(properties, required, describe);
  if (!rows.length) return '_No options besides `type`._\n';
  return (
    ['| Option | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n') +
    '\n'
  );
}

// ---- the page ----

/** The docs page of a plugin's package (`@supcon/losses` -> `/losses`), when there is one. */
function packagePage(pluginName) {
  const folder = pluginName.replace(/^@supcon\//, '');
  return existsSync(path.join(root, 'docs', `${folder}.md`)) ? `/${folder}` : undefined;
}

function anchor(slot, type) {
  return `${slot}-${type}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

const topLevel = docComments.SupconConfigInput ?? {};
const partSlots = { ...CONFIG_PART_SLOTS, ...CONFIG_LIST_SLOTS };
const lines = [];
const push = (...text) => lines.push(...text);

push(
  '---',
  'outline: [2, 3]',
  '---',
  '',
  '<!-- Generated by tools/docs/config-reference.mjs from the config JSON Schema (`supcon schema`); do not edit. -->',
  '',
  '# Config reference',
  '',
  'Every key of a supcon config, every part type the built-in plugins register for each slot, and each',
  "type's options, generated from the JSON Schema of configs (`npx supcon schema`, or",
  '`configJsonSchema(createRegistry(builtinPlugins), { defaults: builtinDefaults })` in code). How config',
  'files are written, validated and pointed at this schema: [Config files](/config). A plugin of your own',
  'adds its types to these slots: [Writing plugins](/plugins).',
  '',
  'A part is written `{ type: NAME, ...options }`; options left out take the default shown. Unknown keys',
  'are errors. Slots a config leaves out take the built-in default listed under each slot (`builtinDefaults`',
  'of [@supcon/train](/train)).',
  '',
);

// Top-level keys other than the part slots.
push('## Top-level keys', '');
push('| Key | Type | Default | Description |', '| --- | --- | --- | --- |');
for (const [key, s] of Object.entries(schema.properties)) {
  if (key in partSlots) continue;
  const keys =
    s.type === 'object' && s.properties
      ? `${Object.keys(s.properties).map(code).join(', ')}: see [below](#${key})`
      : '';
  const description = [
    s.description ??
      topLevel[key] ??
      (key === '$schema' ? 'Path or URL of this JSON Schema, for editors' : keys),
    constraints(s).join(', '),
  ]
    .filter(Boolean)
    .join(' — ');
  const def =
    s.default !== undefined
      ? cell(code(JSON.stringify(s.default)))
      : (schema.required ?? []).includes(key)
        ? '**required**'
        : '—';
  const type =
    s.type === 'object' && s.properties
      ? `[${code('object')}](#${key})`
      : typeAlternatives(s).map(cell).join(' \\| ');
  push(`| ${code(key)} | ${type} | ${def} | ${cell(description) || '—'} |`);
}
push(
  `| ${Object.keys(CONFIG_PART_SLOTS)
    .map((slot) => `[${code(slot)}](#${slot})`)
    .join(', ')} | part | see each | One part each: ${cell(code('{ type, ...options }'))} |`,
);
push(
  `| ${Object.keys(CONFIG_LIST_SLOTS)
    .map((slot) => `[${code(slot)}](#${slot})`)
    .join(', ')} | part[] | see each | Lists of parts |`,
  '',
);

for (const [key, iface] of [
  ['train', 'TrainConfig'],
  ['checkpoint', 'CheckpointConfig'],
]) {
  const s = schema.properties[key];
  if (!s?.properties) continue;
  const docs = docComments[iface] ?? {};
  push(`### \`${key}\` {#${key}}`, '');
  if (topLevel[key]) push(`${topLevel[key]}`, '');
  const defaultTrain = key === 'train' ? (builtinDefaults.train ?? {}) : {};
  const props = Object.fromEntries(
    Object.entries(s.properties).map(([name, p]) => [
      name,
      defaultTrain[name] !== undefined && p.default === undefined
        ? { ...p, default: defaultTrain[name] }
        : p,
    ]),
  );
  push(optionsTable(props, s.required ?? [], (name) => docs[name] ?? ''));
}

const kindNames = {
  dataset: 'dataset',
  backbone: 'backbone (encoder)',
  head: 'projection head',
  augmentation: 'augmentation',
  sampler: 'batch sampler',
  loss: 'loss',
  optimizer: 'optimizer',
  schedule: 'learning-rate schedule',
  evaluator: 'evaluator',
  hook: 'hook',
};

for (const [slot, kind] of Object.entries(partSlots)) {
  const isList = slot in CONFIG_LIST_SLOTS;
  const types = registry.list(kind);
  const slotSchema = isList ? schema.properties[slot].items : schema.properties[slot];
  const byType = new Map(
    (slotSchema.oneOf ?? []).map((entry) => [entry.properties.type.const, entry]),
  );
  push(`## \`${slot}\` {#${slot}}`, '');
  push(
    isList
      ? `A list of ${kindNames[kind] ?? kind} parts (\`${slot}: [{ type: NAME, ...options }, ...]\`).`
      : `One ${kindNames[kind] ?? kind} part (\`${slot}: { type: NAME, ...options }\`).`,
  );
  const fallback = builtinDefaults[slot];
  push(
    fallback !== undefined
      ? `Left out, it is ${code(fallback)}.`
      : isList
        ? 'Left out, the list is empty.'
        : 'It has no built-in default: a config sets it.',
    '',
  );
  if (!types.length) {
    push(
      `No built-in plugin registers a ${kindNames[kind] ?? kind} type; plugins add them (see [hooks](/core#the-runner) and [Writing plugins](/plugins)). Each entry is an object with a string \`type\`.`,
      '',
    );
    continue;
  }
  push('| Type | Description | Package |', '| --- | --- | --- |');
  for (const type of types) {
    const entry = registry.get(kind, type);
    const page = packagePage(entry.plugin);
    push(
      `| [${code(type)}](#${anchor(slot, type)}) | ${cell(entry.factory.description ?? '')} | ${page ? `[${entry.plugin}](${page})` : code(entry.plugin)} |`,
    );
  }
  push('');
  for (const type of types) {
    const entry = registry.get(kind, type);
    const part = byType.get(type) ?? { properties: {}, required: [] };
    push(`### ${slot}: \`${type}\` {#${anchor(slot, type)}}`, '');
    if (entry.factory.description)
      push(`${entry.factory.description.replace(/</g, '&lt;')}.`.replace(/\.\.$/, '.'), '');
    const page = packagePage(entry.plugin);
    push(
      `From ${page ? `[${entry.plugin}](${page})` : code(entry.plugin)}. \`${slot}: { type: '${type}' }\``,
      '',
    );
    push(
      optionsTable(
        part.properties ?? {},
        (part.required ?? []).filter((k) => k !== 'type'),
      ),
    );
  }
}

const text = lines.join('\n').replace(/\n{3,}/g, '\n\n');
if (check) {
  const current = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  if (current !== text) {
    console.error(
      `${path.relative(root, outFile)} is out of date: run node tools/docs/config-reference.mjs`,
    );
    process.exit(1);
  }
} else {
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
  const typeCount = Object.values(partSlots).reduce((n, kind) => n + registry.list(kind).length, 0);
  console.log(
    `${path.relative(root, outFile)}: ${Object.keys(schema.properties).length} top-level keys, ${typeCount} part types`,
  );
}
