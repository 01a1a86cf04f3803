import { z } from 'zod';
import { closestMatch } from './closest';
import { BACKENDS, CONFIG_LIST_SLOTS, CONFIG_PART_SLOTS } from './config';
import type { ResolvedConfig, ResolvedPart, SupconConfigInput } from './config';
import { formatIssues, SupconConfigError } from './errors';
import type { ConfigIssue } from './errors';
import type { PartKind } from './parts';
import type { Plugin } from './plugin';
import type { Registry } from './registry';

const positiveInt = () => z.number({ error: 'expected a positive integer' }).int().positive({ error: 'expected a positive integer' });

/** The keys of the `train` section. */
const TRAIN_KEYS = ['epochs', 'batchSize', 'views', 'memory'];

/** Schema of everything in a config that is not a part (parts are checked against the registry). */
const baseSchema = z
  .object({
    name: z.string().min(1).optional(),
    seed: z.number().int({ error: 'expected an integer' }).min(0, { error: 'expected an integer >= 0' }).default(0),
    backend: z.enum(BACKENDS).default('auto'),
    threads: z
      .union([z.literal('auto'), z.number().int().min(1).max(8)], { error: "expected 'auto' or an integer from 1 to 8" })
      .default('auto'),
    plugins: z.array(z.unknown()).default([]),
    train: z
      .object({
        epochs: positiveInt(),
        batchSize: positiveInt(),
        views: positiveInt().default(2),
        memory: z
          .object({
            size: z.number({ error: 'expected an integer >= 0' }).int({ error: 'expected an integer >= 0' }).min(0, { error: 'expected an integer >= 0' }),
            momentum: z
              .number({ error: 'expected a number from 0 up to (not including) 1' })
              .min(0, { error: 'expected a number from 0 up to (not including) 1' })
              .lt(1, { error: 'expected a number from 0 up to (not including) 1' })
              .optional(),
          })
          .strict()
          // Also when size itself is wrong or missing (`when`), so both paths are named.
          .superRefine(
            (memory, ctx) => {
              const { size, momentum } = memory as { size?: unknown; momentum?: unknown };
              if (momentum !== undefined && !(typeof size === 'number' && size > 0)) {
                ctx.addIssue({ code: 'custom', path: ['momentum'], message: `a momentum key encoder fills the memory bank: it needs train.memory.size > 0, got ${size === undefined ? 'no size' : `size ${String(size)}`}` });
              }
            },
            { when: () => true },
          )
          .optional(),
      })
      .strict(),
    checkpoint: z.object({ everySteps: positiveInt().optional() }).strict().optional(),
    out: z.string().min(1).optional(),
  })
  .loose();

const TOP_LEVEL_KEYS = [
  ...Object.keys(baseSchema.shape),
  ...Object.keys(CONFIG_PART_SLOTS),
  ...Object.keys(CONFIG_LIST_SLOTS),
  // JSON configs may point editors at the schema: `"$schema": "./supcon.schema.json"`.
  '$schema',
];

export interface ResolveOptions {
  /**
   * Default part configs (and `train` values) used where the config omits them, e.g.
   * `{ backbone: { type: 'small-cnn' }, sampler: { type: 'random' } }`. A part the config names
   * replaces the default whole (options are not merged across types); `train` merges key by key.
   */
  defaults?: Partial<SupconConfigInput<Plugin>> | Record<string, unknown>;
  /** Shown in the error message, e.g. the config file path. */
  source?: string;
}

export type ValidationResult = { success: true; config: ResolvedConfig } | { success: false; issues: ConfigIssue[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list (array)';
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}

function isPlugin(value: unknown): value is Plugin {
  return isRecord(value) && typeof value.name === 'string' && value.name !== '';
}

/** Merges caller defaults under the raw config (see `ResolveOptions.defaults`). */
function withDefaults(raw: Record<string, unknown>, defaults: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!defaults) return raw;
  const merged: Record<string, unknown> = { ...defaults, ...raw };
  if (isRecord(defaults.train) || isRecord(raw.train)) {
    merged.train = { ...(isRecord(defaults.train) ? defaults.train : {}), ...(isRecord(raw.train) ? raw.train : {}) };
  }
  if (raw.train !== undefined && !isRecord(raw.train)) merged.train = raw.train;
  return merged;
}

/** Registers the config's plugin objects that `registry` does not hold yet (by name). */
function registerPlugins(plugins: readonly unknown[], registry: Registry, issues: ConfigIssue[]): Plugin[] {
  const out: Plugin[] = [];
  plugins.forEach((plugin, i) => {
    const path = `plugins[${i}]`;
    if (typeof plugin === 'string') {
      issues.push({
        path,
        message: `module specifier '${plugin}' was not loaded: load the config with loadConfigFile(), which imports plugins relative to the config file, or pass the plugin object`,
      });
      return;
    }
    if (!isPlugin(plugin)) {
      issues.push({ path, message: `expected a plugin object with a string \`name\`, got ${describeValue(plugin)}` });
      return;
    }
    out.push(plugin);
    if (registry.plugins().some((p) => p === plugin || p.name === plugin.name)) return;
    try {
      registry.use(plugin);
    } catch (error) {
      issues.push({ path, message: error instanceof Error ? error.message : String(error) });
    }
  });
  return out;
}

/** Checks one `{ type, ...options }` against the registry; returns it with schema defaults applied. */
function resolvePart(kind: PartKind, value: unknown, path: string, registry: Registry, issues: ConfigIssue[]): ResolvedPart | undefined {
  if (!isRecord(value)) {
    issues.push({ path, message: `expected ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} config { type, ...options }, got ${describeValue(value)}` });
    return undefined;
  }
  const { type, ...options } = value;
  const known = registry.list(kind);
  if (typeof type !== 'string') {
    issues.push({
      path: `${path}.type`,
      message: `expected ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} type name, got ${describeValue(type)}.` + (known.length ? ` Known ${kind} types: ${known.join(', ')}` : ''),
    });
    return undefined;
  }
  if (!registry.has(kind, type)) {
    const suggestion = closestMatch(type, known);
    issues.push({
      path: `${path}.type`,
      message:
        `unknown ${kind} '${type}'.` +
        (suggestion ? ` Did you mean '${suggestion}'?` : '') +
        (known.length ? ` Known ${kind} types: ${known.join(', ')}` : ` No ${kind} types are registered: add a plugin that provides one`),
    });
    return undefined;
  }
  const schema = registry.get(kind, type).factory.schema;
  const before = issues.length;
  // Unknown options are errors (a typo must not be silently dropped), with a suggestion.
  const shape = (schema as unknown as { shape?: unknown }).shape;
  if (isRecord(shape)) {
    const names = Object.keys(shape);
    for (const key of Object.keys(options)) {
      if (names.includes(key)) continue;
      const suggestion = closestMatch(key, names);
      issues.push({
        path: `${path}.${key}`,
        message:
          `unknown option of ${kind} '${type}'.` +
          (suggestion ? ` Did you mean '${suggestion}'?` : '') +
          (names.length ? ` Its options: ${names.join(', ')}` : ` It takes no options`),
      });
    }
  }
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    // A strict schema reports the unknown options again: they are reported above, each once.
    const zodIssues = isRecord(shape) ? parsed.error.issues.filter((i) => i.code !== 'unrecognized_keys') : parsed.error.issues;
    for (const issue of formatIssues(zodIssues, path, options, schema)) {
      if (!issues.slice(before).some((i) => i.path === issue.path)) issues.push(issue);
    }
  }
  if (issues.length > before || !parsed.success) return undefined;
  return { type, ...(parsed.data as Record<string, unknown>) };
}

/**
 * Validates a raw config (from TS, JSON or YAML) against the registry: the top-level shape, and
 * each part against the option schema of its `type`. Plugin objects in `raw.plugins` that the
 * registry lacks are registered into it first (by name: a plugin already registered is skipped),
 * so their types validate. Collects every problem instead of stopping at the first.
 *
 * @returns `{ success: true, config }` with every default filled in (seed 0, backend 'auto',
 *   train.views 2, `options.defaults` parts, each part's schema defaults), or
 *   `{ success: false, issues }` where each issue names its path (`train.epochs`) and reason.
 */
export function validateConfig(raw: unknown, registry: Registry, options: ResolveOptions = {}): ValidationResult {
  const issues: ConfigIssue[] = [];
  if (!isRecord(raw)) {
    return { success: false, issues: [{ path: '(root)', message: `expected a config object, got ${describeValue(raw)}` }] };
  }
  const merged = withDefaults(raw, options.defaults as Record<string, unknown> | undefined);

  for (const key of Object.keys(merged)) {
    if (TOP_LEVEL_KEYS.includes(key)) continue;
    const suggestion = closestMatch(key, TOP_LEVEL_KEYS);
    issues.push({
      path: key,
      message: `unknown config key.` + (suggestion ? ` Did you mean '${suggestion}'?` : '') + ` Known keys: ${TOP_LEVEL_KEYS.join(', ')}`,
    });
  }

  const base = baseSchema.safeParse(merged);
  if (!base.success) {
    for (const issue of base.error.issues) {
      const inTrain = issue.path.length === 1 && issue.path[0] === 'train';
      if (inTrain && issue.code === 'unrecognized_keys') {
        // `train: { epochz: 2 }`: each unknown key by its own path, with a suggestion.
        for (const key of issue.keys) {
          const suggestion = closestMatch(key, TRAIN_KEYS);
          issues.push({
            path: `train.${key}`,
            message: `unknown train key.` + (suggestion ? ` Did you mean '${suggestion}'?` : '') + ` Known keys: ${TRAIN_KEYS.join(', ')}`,
          });
        }
      } else if (inTrain) {
        issues.push({ path: 'train', message: `expected { epochs, batchSize, views?, memory? }, got ${describeValue(merged.train)}` });
      } else {
        issues.push(...formatIssues([issue], '', merged));
      }
    }
  }
  const plugins = registerPlugins(Array.isArray(merged.plugins) ? merged.plugins : [], registry, issues);

  const parts: Partial<Record<string, ResolvedPart>> = {};
  for (const [slot, kind] of Object.entries(CONFIG_PART_SLOTS)) {
    if (merged[slot] === undefined) continue;
    parts[slot] = resolvePart(kind, merged[slot], slot, registry, issues);
  }
  const lists: Record<string, ResolvedPart[]> = { eval: [], hooks: [] };
  for (const [slot, kind] of Object.entries(CONFIG_LIST_SLOTS)) {
    const value = merged[slot];
    if (value === undefined) continue;
    if (!Array.isArray(value)) {
      issues.push({ path: slot, message: `expected an array of ${kind} configs, got ${describeValue(value)}` });
      continue;
    }
    value.forEach((item, i) => {
      const part = resolvePart(kind, item, `${slot}[${i}]`, registry, issues);
      if (part) lists[slot].push(part);
    });
  }

  if (issues.length > 0 || !base.success) return { success: false, issues };
  const b = base.data;
  const config: ResolvedConfig = {
    ...(b.name !== undefined ? { name: b.name } : {}),
    seed: b.seed,
    backend: b.backend,
    threads: b.threads,
    plugins,
    ...(parts as Record<string, ResolvedPart>),
    train: b.train,
    ...(b.checkpoint ? { checkpoint: b.checkpoint } : {}),
    eval: lists.eval,
    hooks: lists.hooks,
    out: b.out ?? `runs/${b.name ?? 'run'}`,
  };
  return { success: true, config };
}

/**
 * `validateConfig`, throwing instead of returning issues.
 * @throws SupconConfigError with `.issues` listing every problem (path and reason).
 */
export function resolveConfig(raw: unknown, registry: Registry, options: ResolveOptions = {}): ResolvedConfig {
  const result = validateConfig(raw, registry, options);
  if (!result.success) throw new SupconConfigError(result.issues, options.source);
  return result.config;
}

type JsonSchema = Record<string, unknown>;

function partJsonSchema(kind: PartKind, registry: Registry): JsonSchema {
  const oneOf = registry.list(kind).map((name) => {
    const entry = registry.get(kind, name);
    let options: JsonSchema;
    try {
      options = z.toJSONSchema(entry.factory.schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    } catch {
      options = { type: 'object' };
    }
    delete options.$schema;
    const properties = { type: { const: name }, ...(isRecord(options.properties) ? options.properties : {}) };
    const required = ['type', ...(Array.isArray(options.required) ? (options.required as string[]) : [])];
    return {
      ...options,
      type: 'object',
      title: `${kind} '${name}'`,
      ...(entry.factory.description ? { description: entry.factory.description } : {}),
      properties,
      required,
      additionalProperties: false,
    };
  });
  return oneOf.length ? { oneOf } : { type: 'object', properties: { type: { type: 'string' } }, required: ['type'] };
}

/**
 * A JSON Schema (draft 2020-12) of the whole config for editors (`"$schema"` in a JSON config, or
 * YAML language servers). Each part slot is a `oneOf` over the types registered in `registry`,
 * each with its options' schema (input side: options with defaults are not required). Pass the
 * same `defaults` as to `resolveConfig` so that `train` values they supply are not required.
 */
export function configJsonSchema(registry: Registry, options: Pick<ResolveOptions, 'defaults'> = {}): JsonSchema {
  const base = z.toJSONSchema(baseSchema.strict(), { io: 'input' }) as JsonSchema;
  const properties: Record<string, unknown> = { ...(base.properties as JsonSchema) };
  // What the caller's defaults supply is not required of the file.
  const defaults = (options.defaults ?? {}) as Record<string, unknown>;
  const defaultTrain = isRecord(defaults.train) ? defaults.train : {};
  const train = { ...(properties.train as JsonSchema) };
  train.required = ((train.required as string[] | undefined) ?? []).filter((k) => defaultTrain[k] === undefined);
  if ((train.required as string[]).length === 0) delete train.required;
  properties.train = train;
  properties.plugins = {
    type: 'array',
    description: 'Module specifiers of plugins, resolved relative to the config file',
    items: { type: 'string' },
  };
  for (const [slot, kind] of Object.entries(CONFIG_PART_SLOTS)) properties[slot] = partJsonSchema(kind, registry);
  for (const [slot, kind] of Object.entries(CONFIG_LIST_SLOTS)) properties[slot] = { type: 'array', items: partJsonSchema(kind, registry) };
  properties.$schema = { type: 'string' };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'supcon config',
    type: 'object',
    properties,
    ...(train.required ? { required: ['train'] } : {}),
    additionalProperties: false,
  };
}
