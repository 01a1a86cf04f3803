#!/usr/bin/env node
// Checks the built site (docs/.vitepress/dist) for links VitePress does not check: every
// internal href and src of every page must name a file of the site, and every #anchor an id on
// the page it points to. (VitePress fails the build on links to missing pages, but not on links
// to missing files such as `../examples/x.yaml`, nor on missing anchors.) Prints the page and
// link counts; exits 1, listing them, when any is broken.
//
//   node tools/docs/check-links.mjs [--dist docs/.vitepress/dist]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const distArg = process.argv.indexOf('--dist');
const dist = path.resolve(root, distArg >= 0 ? process.argv[distArg + 1] : 'docs/.vitepress/dist');
if (!existsSync(dist)) {
  console.error(
    `check-links: ${path.relative(root, dist)} does not exist: run vitepress build docs first`,
  );
  process.exit(1);
}

function htmlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? htmlFiles(full) : entry.name.endsWith('.html') ? [full] : [];
  });
}

/** The file a site path is served from (clean URLs: `/a` is a.html, `/a/` is a/index.html). */
function fileOf(sitePath) {
  const rel = decodeURIComponent(sitePath).replace(/^\/+/, '');
  const candidates =
    rel === '' || rel.endsWith('/')
      ? [`${rel}index.html`]
      : [rel, `${rel}.html`, `${rel}/index.html`];
  for (const candidate of candidates) {
    const full = path.join(dist, candidate);
    if (existsSync(full) && statSync(full).isFile()) return full;
  }
  return undefined;
}

const idsCache = new Map();
function idsOf(file) {
  if (!idsCache.has(file)) {
    const html = readFileSync(file, 'utf8');
    idsCache.set(
      file,
      new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'))),
    );
  }
  return idsCache.get(file);
}

const pages = htmlFiles(dist);
const broken = [];
let checked = 0;
for (const page of pages) {
  // The page's own markup; the search index and scripts are checked by their own pages.
  const html = readFileSync(page, 'utf8').replace(/<script[\s\S]*?<\/script>/g, '');
  const pageUrl = new URL(`https://site/${path.relative(dist, page).replace(/\\/g, '/')}`);
  for (const match of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
    const raw = match[1].replace(/&amp;/g, '&');
    if (raw === '' || /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(raw)) continue;
    const url = new URL(raw, pageUrl);
    if (url.host !== 'site') continue;
    checked += 1;
    const target = raw.startsWith('#') ? page : fileOf(url.pathname);
    const where = `${path.relative(dist, page)}: ${raw}`;
    if (!target) {
      broken.push(`${where} (no such file on the site)`);
      continue;
    }
    const anchor = decodeURIComponent(url.hash.slice(1));
    if (anchor && target.endsWith('.html') && !idsOf(target).has(anchor))
      broken.push(`${where} (no id "${anchor}" on ${path.relative(dist, target)})`);
  }
}

if (broken.length) {
  console.error(
    `check-links: ${broken.length} broken link${broken.length === 1 ? '' : 's'} in ${path.relative(root, dist)}:\n  ${broken.join('\n  ')}`,
  );
  process.exit(1);
}
console.log(
  `check-links: ${pages.length} pages, ${checked} internal links and anchors, none broken`,
);
