// TypeDoc plugin for the API reference: each entry point (packages/<name>/src/index.ts) becomes a
// module named after its package ("@supcon/core", not "core/src"), and the block comment at the
// top of the entry file, which the sources write without a `@module` tag, becomes the module's
// summary, followed by a link to the package's page in docs/. Loaded by typedoc.json at the repository root.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Comment, Converter, ReflectionKind } from 'typedoc';

/** The package.json nearest above `file`. */
function packageOf(file) {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8'));
  }
  return undefined;
}

/**
 * The first `/** ... *\/` comment of a file as comment parts: prose as text, and each run of lines
 * indented under the prose (the sources' way of writing an example) as a fenced code part.
 */
export function headerParts(source) {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!match) return [];
  const lines = match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, '').replace(/\s+$/, ''));
  const blocks = [];
  for (const line of lines) {
    const code = /^ {2,}\S/.test(line);
    const last = blocks[blocks.length - 1];
    if (last && last.code === code) last.lines.push(line);
    else if (code || line !== '' || last) blocks.push({ code, lines: [line] });
  }
  const parts = [];
  for (const block of blocks) {
    if (block.code) {
      const indent = Math.min(...block.lines.map((l) => /^ */.exec(l)[0].length));
      parts.push({
        kind: 'code',
        text: '```ts\n' + block.lines.map((l) => l.slice(indent)).join('\n') + '\n```',
      });
    } else {
      const text = block.lines.join('\n').trim();
      if (text) parts.push({ kind: 'text', text: (parts.length ? '\n\n' : '') + text + '\n\n' });
    }
  }
  return parts;
}

const docsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs');

export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const mod of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      const file = mod.sources?.[0]?.fullFileName;
      if (!file) continue;
      const pkg = packageOf(file);
      if (pkg?.name) mod.name = pkg.name;
      if (!mod.comment) {
        const parts = headerParts(readFileSync(file, 'utf8'));
        // The package's hand-written page (docs/<folder>.md), when there is one.
        const folder = path.basename(path.dirname(path.dirname(file)));
        if (existsSync(path.join(docsDir, `${folder}.md`))) {
          parts.push({
            kind: 'text',
            text: `${parts.length ? '\n\n' : ''}Guide: [${pkg?.name ?? folder}](/${folder}).`,
          });
        }
        if (parts.length) mod.comment = new Comment(parts);
      }
    }
  });
}
