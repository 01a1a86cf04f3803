#!/usr/bin/env node
/**
 * `npm run examples`: every example under examples/code, type-checked (tsc) and run, as a user
 * would after a build: `node --import jiti/register examples/code/<name>.ts` from the repository
 * root, against the built packages (node_modules/@supcon/* -> packages/*\/dist). Each must exit 0
 * within its time limit; the examples check their own results (a loss that falls, a probe above
 * chance) and print one line each. `*.config.ts` files are configs, run by the examples that load them.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import console from 'node:console';
import process from 'node:process';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'examples/code');
const only = process.argv.slice(2);

// examples/code, and the web app's modules (examples/web-app: the page's against the DOM, its
// worker's against the Web Worker globals), which the docs site runs and includes.
const projects = ['examples/code/tsconfig.json', 'examples/web-app/tsconfig.json', 'examples/web-app/tsconfig.worker.json'];
for (const project of projects) {
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, project)], { cwd: root, encoding: 'utf8' });
  if (tsc.status !== 0) {
    console.error(`examples: type errors (${project})\n${tsc.stdout}${tsc.stderr}`);
    process.exit(1);
  }
}
console.log(`examples: type-check ok (${projects.join(', ')})`);

const examples = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.config.ts') && !f.endsWith('.d.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
let failed = 0;
for (const file of examples) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'jiti/register', path.join(dir, file)], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const lines = `${r.stdout ?? ''}`.trim().split('\n').filter(Boolean);
  if (r.status === 0) {
    console.log(`ok    ${file} (${seconds} s)`);
    for (const line of lines) console.log(`        ${line}`);
  } else {
    failed++;
    console.log(`FAIL  ${file} (${seconds} s, ${r.signal ? `killed: ${r.signal}` : `exit ${r.status}`})`);
    console.log(`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).map((l) => `        ${l}`).join('\n'));
  }
}
console.log(`examples: ${examples.length - failed} of ${examples.length} ran`);
process.exit(failed ? 1 : 0);
