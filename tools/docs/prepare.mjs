#!/usr/bin/env node
// Generated inputs of the docs site that are neither the API (TypeDoc) nor the config reference:
//
// - Repository files the hand-written pages link to outside docs/ (`[...](../examples/x.yaml)`)
//   are copied into docs/public/ at the path the link resolves to on the site (`/examples/x.yaml`),
//   so that the link works there too. A link to a file that does not exist, to a folder, or one
//   that would resolve elsewhere on the site is an error: the build stops and names it.
// - README.md's section on the Fashion-MNIST result is written to
//   docs/.vitepress/generated/fashion-mnist-result.md, its links rewritten for the site, for
//   docs/guide/reproduce.md to include: the table there is always the README's.
//
//   node tools/docs/prepare.mjs
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const docs = path.join(root, 'docs');
const generatedDir = path.join(docs, '.vitepress/generated');
const publicDir = path.join(docs, 'public');
// The folders of docs/public/ this script owns (removed and rewritten each time).
const COPIED_ROOTS = ['examples'];

/** The hand-written pages: docs/**\/*.md but the generated api/ and reference/, and dot folders. */
function pages(dir = docs) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'public')
      continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (dir === docs && (entry.name === 'api' || entry.name === 'reference')) continue;
      out.push(...pages(full));
    } else if (entry.name.endsWith('.md')) out.push(full);
  }
  return out;
}

/** Markdown links of a page, outside code blocks and inline code. */
function links(markdown) {
  const text = markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '``');
  return [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
}

const errors = [];
const copies = new Map();
for (const page of pages()) {
  const route =
    '/' +
    path
      .relative(docs, page)
      .replace(/\\/g, '/')
      .replace(/(^|\/)index\.md$/, '$1')
      .replace(/\.md$/, '');
  for (const link of links(readFileSync(page, 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('#') || link.startsWith('/')) continue;
    const target = decodeURI(link.split(/[?#]/)[0]);
    const file = path.resolve(path.dirname(page), target);
    if (!path.relative(docs, file).startsWith('..')) continue; // inside docs/: VitePress checks it
    const where = `${path.relative(root, page)}: link ${link}`;
    const repoPath = path.relative(root, file).replace(/\\/g, '/');
    if (repoPath.startsWith('..')) {
      errors.push(`${where} points outside the repository`);
    } else if (!existsSync(file) || !statSync(file).isFile()) {
      errors.push(
        `${where}: ${repoPath} ${existsSync(file) ? 'is a folder (link a file)' : 'does not exist'}`,
      );
    } else if (repoPath.endsWith('.md')) {
      errors.push(
        `${where}: ${repoPath} is a markdown file outside docs/, which the site does not build`,
      );
    } else if (!COPIED_ROOTS.includes(repoPath.split('/')[0])) {
      errors.push(
        `${where}: ${repoPath} is not under ${COPIED_ROOTS.join(', ')}/ (the folders copied to the site)`,
      );
    } else if (new URL(link, `https://site${route}`).pathname !== `/${repoPath}`) {
      errors.push(
        `${where}: on the site it resolves to ${new URL(link, `https://site${route}`).pathname}, not /${repoPath}`,
      );
    } else copies.set(repoPath, file);
  }
}

for (const dir of COPIED_ROOTS) rmSync(path.join(publicDir, dir), { recursive: true, force: true });
for (const [repoPath, file] of copies) {
  mkdirSync(path.dirname(path.join(publicDir, repoPath)), { recursive: true });
  copyFileSync(file, path.join(publicDir, repoPath));
}

// README's result section, for the reproduction guide.
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const start = readme.search(/^## Result\b.*$/m);
if (start < 0) {
  errors.push('README.md: no "## Result" section (docs/guide/reproduce.md includes it)');
} else {
  const rest = readme.slice(start);
  const next = rest.slice(3).search(/^## /m);
  const section = (next < 0 ? rest : rest.slice(0, next + 3))
    .replace(/^## .*\n/, '') // the page gives its own heading
    // Links into docs/ become site links; other repository paths become plain text (no page).
    .replace(/\]\((?!https?:|#|\/)([^)\s]+)\)/g, (match, href) => {
      const m = /^docs\/(.+?)\.md(#.*)?$/.exec(href);
      return m ? `](/${m[1] === 'index' ? '' : m[1]}${m[2] ?? ''})` : `](${href})`;
    })
    .replace(/\[([^\]]+)\]\((?!https?:|#|\/)[^)\s]+\)/g, '$1');
  mkdirSync(generatedDir, { recursive: true });
  writeFileSync(
    path.join(generatedDir, 'fashion-mnist-result.md'),
    `<!-- Generated by tools/docs/prepare.mjs from README.md's "Result" section; do not edit. -->\n\n${section.trim()}\n`,
  );
}

if (errors.length) {
  console.error(
    `docs: ${errors.length} broken link${errors.length === 1 ? '' : 's'}:\n  ${errors.join('\n  ')}`,
  );
  process.exit(1);
}
console.log(
  `docs/public: ${copies.size} linked repository file${copies.size === 1 ? '' : 's'} copied; docs/.vitepress/generated/fashion-mnist-result.md written`,
);
