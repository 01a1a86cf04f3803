#!/usr/bin/env node
/**
 * `npm run docs:build`'s check that the API reference is complete: every function and class a
 * package exports at run time, from its Node entry and from its browser entry, has its page in
 * docs/api/<package>/functions/<name>.md or classes/<name>.md (written by TypeDoc from the
 * packages' doc comments, `npm run docs:api`). Run after a build of the packages (dist/).
 * Fails with the list of exports that have none.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import console from 'node:console';
import process from 'node:process';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const typedoc = JSON.parse(readFileSync(path.join(root, 'typedoc.json'), 'utf8'));
const apiDir = path.join(root, typedoc.out);

const missing = [];
let checked = 0;
for (const entry of typedoc.entryPoints) {
  const pkgDir = path.join(root, path.dirname(path.dirname(entry)));
  const name = path.basename(pkgDir);
  const entries = ['dist/index.js', 'dist/browser.js'].map((f) => path.join(pkgDir, f)).filter(existsSync);
  if (entries.length === 0) {
    console.error(`check-api: ${path.relative(root, pkgDir)}/dist is missing: build the packages first`);
    process.exit(1);
  }
  const names = new Map();
  for (const file of entries) {
    const module = await import(pathToFileURL(file).href);
    for (const [key, value] of Object.entries(module)) {
      if (typeof value !== 'function') continue;
      // A class's source starts with `class`; everything else callable is a function.
      const kind = /^class[\s{]/.test(Function.prototype.toString.call(value)) ? 'classes' : 'functions';
      names.set(key, { kind, from: path.basename(file) });
    }
  }
  for (const [key, { kind, from }] of names) {
    checked++;
    const page = path.join(apiDir, name, kind, `${key}.md`);
    // TypeDoc may file a function-valued constant under variables/.
    const alternatives = [page, path.join(apiDir, name, 'variables', `${key}.md`), path.join(apiDir, name, kind === 'classes' ? 'functions' : 'classes', `${key}.md`)];
    // A re-export of another package's function (@supcon/cli's defineConfig) has its page there.
    const elsewhere = typedoc.entryPoints
      .map((e) => path.basename(path.dirname(path.dirname(e))))
      .flatMap((other) => ['functions', 'classes', 'variables'].map((k) => path.join(apiDir, other, k, `${key}.md`)));
    if (!alternatives.some(existsSync) && !elsewhere.some(existsSync)) missing.push(`@supcon/${name}: ${key} (${from}): no page ${path.relative(root, page)}`);
  }
}
if (missing.length) {
  console.error(`check-api: ${missing.length} exported function(s) or class(es) without an API page:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-api: ${checked} exported functions and classes, each with its API page`);
