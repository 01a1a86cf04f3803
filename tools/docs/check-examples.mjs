#!/usr/bin/env node
// Every code example on the docs site is a real file, type-checked and run by `npm run examples`
// (examples/code), and included in its page with VitePress's `<<< @/../examples/code/file.ts#region`.
// This check, run by `npm run docs:build` before VitePress, fails with file:line when a hand-written
// page (docs/**/*.md but the generated api/ and reference/, public/ and dot folders) has
//
// - an inline fenced block in a program language (ts, js, typescript, javascript, tsx, jsx, mts,
//   cts, mjs, cjs, vue): write the code as a file under examples/code and include it. Shell, YAML,
//   JSON and text blocks stay inline;
// - a `<<<` include whose file does not exist, or whose `#region` the file lacks (VitePress would
//   show "Code snippet path not found" or, for a missing region, silently include the whole file).
//
// The only inline blocks allowed are listed in ALLOWED below, by page and section, with the reason;
// an entry that matches no block any more is reported, so that a converted section drops its entry.
//
//   node tools/docs/check-examples.mjs
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { handWrittenPages } from './pages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const docs = path.join(root, 'docs');

/** Languages that must come from a file. */
const PROGRAM_LANGS = new Set([
  'ts',
  'typescript',
  'js',
  'javascript',
  'tsx',
  'jsx',
  'mts',
  'cts',
  'mjs',
  'cjs',
  'vue',
]);

/**
 * Inline program blocks allowed for now: every block under the heading `section` of `page`. Only
 * for a section whose owner is moving it to a file; drop the entry with the conversion (an entry
 * that matches no block any more is reported, and does not fail the check).
 */
const ALLOWED = [];

const pages = handWrittenPages(docs);

/** The region markers VitePress's snippet plugin reads (`// #region name` in JS/TS, `# #region name` in YAML, ...). */
const REGION_MARKERS = [
  /^\/\/ ?#?((?:end)?region) ([\w*-]+)$/,
  /^\/\* ?#((?:end)?region) ([\w*-]+) ?\*\/$/,
  /^#pragma ((?:end)?region) ([\w*-]+)$/,
  /^<!-- #?((?:end)?region) ([\w*-]+) -->$/,
  /^#((?:End )Region) ([\w*-]+)$/,
  /^::#((?:end)region) ([\w*-]+)$/,
  /^# ?((?:end)?region) ([\w*-]+)$/,
];

/** Whether `text` has a region `name` that VitePress finds: a start marker, then its end marker in the same style. */
function hasRegion(text, name) {
  const lines = text.split('\n').map((line) => line.trim());
  for (const marker of REGION_MARKERS) {
    const is = (line, end) => {
      const m = marker.exec(line);
      return (
        m !== null && m[2] === name && (end ? /^[Ee]nd ?[rR]egion$/ : /^[rR]egion$/).test(m[1])
      );
    };
    const start = lines.findIndex((line) => is(line, false));
    if (start >= 0) return lines.slice(start + 1).some((line) => is(line, true));
  }
  return false;
}

const problems = [];
const allowedHits = new Map(ALLOWED.map((a) => [a, []]));
let blocks = 0;
let includes = 0;

for (const file of pages) {
  const page = path.relative(root, file).split(path.sep).join('/');
  const lines = readFileSync(file, 'utf8').split('\n');
  const headings = []; // the open headings, by level
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      headings.length = heading[1].length - 1;
      headings[heading[1].length - 1] = heading[2];
      continue;
    }
    const include = /^\s*<<<\s*(\S+)/.exec(line);
    if (include) {
      includes++;
      // `@/` is the docs folder; `#region`, `{lines}` and `[title]` may follow the path.
      const m = /^(.+?)(?:#([\w-]+))?(?:\s*\{[^}]*\})?(?:\s*\[[^\]]*\])?$/.exec(
        line.trim().slice(3).trim(),
      );
      const raw = m?.[1] ?? include[1];
      const target = raw.startsWith('@/')
        ? path.join(docs, raw.slice(2))
        : path.resolve(path.dirname(file), raw);
      const where = `${page}:${i + 1}`;
      if (!existsSync(target) || !statSync(target).isFile()) {
        problems.push(`${where}: <<< ${raw}: no such file (${path.relative(root, target)})`);
      } else if (m?.[2] && !hasRegion(readFileSync(target, 'utf8'), m[2])) {
        problems.push(
          `${where}: <<< ${raw}#${m[2]}: ${path.relative(root, target)} has no region ${m[2]} (\`// #region ${m[2]}\` ... \`// #endregion ${m[2]}\`): VitePress would include the whole file`,
        );
      }
      continue;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s{:[`]*)/.exec(line);
    if (!open) continue;
    const [, , fence, info] = open;
    const lang = info.toLowerCase();
    let end = i + 1;
    while (
      end < lines.length &&
      !new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(lines[end])
    )
      end++;
    if (PROGRAM_LANGS.has(lang)) {
      blocks++;
      const allowed = ALLOWED.find((a) => a.page === page && headings.includes(a.section));
      if (allowed) allowedHits.get(allowed).push(`${page}:${i + 1}`);
      else
        problems.push(
          `${page}:${i + 1}: an inline \`\`\`${lang} block: write it as a file under examples/code (type-checked and run by npm run examples) and include it with <<< @/../examples/code/FILE.ts#region`,
        );
    }
    i = end;
  }
}

for (const [entry, hits] of allowedHits) {
  if (hits.length === 0)
    console.warn(
      `check-examples: note: ALLOWED in tools/docs/check-examples.mjs lists ${entry.page} § "${entry.section}", which has no inline program block any more: remove the entry`,
    );
  else console.log(`check-examples: allowed for now: ${hits.join(', ')} (${entry.reason})`);
}
if (problems.length) {
  console.error(
    `check-examples: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
  process.exit(1);
}
console.log(
  `check-examples: ${pages.length} pages, ${includes} <<< includes (files and regions present), no inline program block${blocks ? ` but the ${blocks} allowed` : ''}`,
);
