#!/usr/bin/env node
/**
 * Runs the shell commands of README.md and docs/getting-started.md literally, in a fresh clone of
 * this repository's committed state (HEAD), the way someone who just cloned it would.
 *
 *   npm run test:docs                 # clone, npm ci once, run every ```sh block in order
 *   npm run test:docs -- --list       # print the blocks and what would be skipped; run nothing
 *   npm run test:docs -- --list --worktree   # the same for the files on disk, not HEAD's
 *   npm run test:docs -- --keep       # keep the clone (its path is printed)
 *
 * - Every ```sh / ```bash / ```shell block runs as one bash script (`set -e -o pipefail`), from
 *   the clone's root, in document order (README.md, then docs/getting-started.md), so a block may
 *   use what an earlier one made (the demo's runs, a built CLI).
 * - `npm ci` runs once, when the first block starting with `npm ci &&` runs (it may fetch
 *   third-party tarballs that the npm cache lacks); later blocks' leading `npm ci &&` is not
 *   repeated (the same lockfile is already installed). What follows it runs literally.
 * - A block is skipped only when the line right before it (blank lines aside) is
 *   `<!-- docs-check: skip (reason) -->`: keep those few and visible. `<!-- docs-check: online -->`
 *   lets a block install third-party packages from the registry (`npm i` in a new project).
 * - Nothing may come from the registry otherwise: blocks run with `npm_config_offline=true` and
 *   `npm_config_yes=false`, so npx can never download a package that is not installed, and a
 *   documented `npx` must say `--no-install` (checked before anything runs). The PATH has no
 *   node_modules/.bin of the checkout this script was started from.
 * Fails (exit 1) on the first block that exits non-zero, with the command that failed.
 */
/* global console, setTimeout, clearTimeout */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const DOCS = ['README.md', 'docs/getting-started.md'];
const FENCE_LANGS = new Set(['sh', 'bash', 'shell']);
const BLOCK_TIMEOUT_S = Number(process.env.DOCS_CHECK_BLOCK_TIMEOUT_S ?? 1800);

const args = new Set(process.argv.slice(2));
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The fenced shell blocks of a markdown text, with their markers. */
export function extractBlocks(text, file) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, , fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    const body = lines.slice(i + 1, end);
    if (FENCE_LANGS.has(lang)) {
      let j = i - 1;
      while (j >= 0 && lines[j].trim() === '') j--;
      const marker = j >= 0 ? /^<!--\s*docs-check:\s*(skip|online)\b\s*(.*?)\s*-->$/.exec(lines[j].trim()) : null;
      blocks.push({
        file,
        line: i + 1,
        script: body.join('\n').trim(),
        skip: marker?.[1] === 'skip' ? marker[2].replace(/^\((.*)\)$/, '$1') || 'no reason given' : undefined,
        online: marker?.[1] === 'online',
      });
    }
    i = end;
  }
  return blocks;
}

/** Problems visible without running anything: an npx that could download a package. */
export function staticProblems(block) {
  const problems = [];
  for (const [k, raw] of block.script.split('\n').entries()) {
    const line = raw.replace(/(^|\s)#.*$/, '');
    for (const m of line.matchAll(/(?:^|[;&|(]\s*|\s)npx\s+((?:-\S+\s+)*)(\S+)/g)) {
      if (!/(^|\s)(--no-install|--no|--yes=false)(\s|$)/.test(m[1])) {
        problems.push(`${block.file}:${block.line + 1 + k}: \`npx ${m[2]}\` without --no-install may download a package from the registry: write \`npx --no-install ${m[2]}\``);
      }
    }
    if (/(^|[;&|]\s*)npm\s+exec\s/.test(line) && !/\s--no(\s|$)|--yes=false/.test(line)) {
      problems.push(`${block.file}:${block.line + 1 + k}: \`npm exec\` without --no may download a package from the registry`);
    }
  }
  return problems;
}

function git(...argv) {
  const r = spawnSync('git', argv, { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${argv.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** The environment of a fresh shell: no npm_* of the `npm run` that started us, no local .bin on PATH. */
function freshEnv(offline) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD' || k === 'NODE') continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((p) => !/node_modules[\\/]\.bin$/.test(p) && !p.includes(`${path.sep}node-gyp-bin`))
    .join(path.delimiter);
  env.npm_config_yes = 'false';
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  if (offline) env.npm_config_offline = 'true';
  env.CI = 'true';
  env.NX_DAEMON = 'false';
  env.NX_NO_CLOUD = 'true';
  return env;
}

const REGISTRY_SIGNS = [/\bE404\b/, /\bENOTCACHED\b/, /npx canceled due to missing packages/i, /could not determine executable to run/i];

/** Runs one bash script in `cwd`, echoing its output; resolves to { code, output, seconds }. */
function runScript(script, cwd, env, timeoutS) {
  return new Promise((resolve) => {
    const started = Date.now();
    const wrapped = `set -eo pipefail\ntrap 'echo "docs-check: this command failed (exit $?): $BASH_COMMAND" >&2' ERR\n${script}\n`;
    const child = spawn('bash', ['-c', wrapped], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (chunk, to) => {
      output = (output + chunk.toString()).slice(-200_000);
      to.write(chunk);
    };
    child.stdout.on('data', (c) => keep(c, process.stdout));
    child.stderr.on('data', (c) => keep(c, process.stderr));
    const timer = setTimeout(() => {
      output += `\ndocs-check: timed out after ${timeoutS} s\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main() {
  const head = git('rev-parse', 'HEAD');
  const dirty = git('status', '--porcelain', '--', ...DOCS, 'examples', 'package.json', 'package-lock.json');
  // --list --worktree: the files as they are on disk (to check edits before committing them).
  const read = (file) => (args.has('--worktree') ? readFileSync(path.join(repo, file), 'utf8') : git('show', `HEAD:${file}`));
  const blocks = DOCS.flatMap((file) => extractBlocks(read(file), file));
  const problems = blocks.filter((b) => !b.skip).flatMap(staticProblems);

  console.log(`docs-check: ${blocks.length} shell blocks in ${DOCS.join(', ')} at ${head.slice(0, 12)} (committed state)`);
  if (dirty) console.log(`docs-check: note: uncommitted changes are not checked:\n${dirty.replace(/^/gm, '  ')}`);
  for (const b of blocks) {
    const tag = b.skip ? `skip (${b.skip})` : b.online ? 'run, may install from the registry' : 'run';
    console.log(`\n# ${b.file}:${b.line}: ${tag}\n${b.script.replace(/^/gm, '  ')}`);
  }
  if (problems.length) {
    console.error(`\ndocs-check: FAILED before running anything:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exitCode = 1;
    return;
  }
  if (args.has('--list')) return;
  if (args.has('--worktree')) throw new Error('--worktree only goes with --list: the check runs a clone of HEAD');

  const tmp = mkdtempSync(path.join(tmpdir(), 'supcon-docs-check-'));
  const clone = path.join(tmp, 'supcon');
  let failed;
  const times = [];
  try {
    console.log(`\ndocs-check: git clone ${repo} ${clone}`);
    git('clone', '--quiet', repo, clone);
    let installed = false;
    for (const b of blocks) {
      if (b.skip) continue;
      let script = b.script;
      const title = `\n=== ${b.file}:${b.line}`;
      if (/^npm ci\s*&&/.test(script)) {
        // `npm ci && X` is `npm ci`, then X: the install runs once (the first time, allowed to
        // fetch third-party tarballs missing from the npm cache), X runs offline like the rest.
        script = script.replace(/^npm ci\s*&&\s*/, '');
        if (!installed) {
          console.log(`${title}\n$ npm ci`);
          const r = await runScript('npm ci', clone, freshEnv(false), BLOCK_TIMEOUT_S);
          times.push(`${r.seconds.toFixed(0).padStart(5)} s  ${b.file}:${b.line}  npm ci`);
          if (r.code !== 0) {
            failed = `${b.file}:${b.line}: npm ci exited ${r.code}`;
            break;
          }
          installed = true;
        } else {
          console.log(`${title} (its \`npm ci\` already ran in this clone)`);
        }
      } else {
        console.log(title);
      }
      console.log(`$ ${script.split('\n').join('\n$ ')}`);
      const r = await runScript(script, clone, freshEnv(!b.online), BLOCK_TIMEOUT_S);
      times.push(`${r.seconds.toFixed(0).padStart(5)} s  ${b.file}:${b.line}  ${script.split('\n')[0].slice(0, 90)}`);
      if (r.code !== 0) {
        const sign = REGISTRY_SIGNS.find((re) => re.test(r.output));
        failed = `${b.file}:${b.line} exited ${r.code}` + (sign ? ` (it reached for a package that is not installed: ${sign})` : '');
        break;
      }
    }
  } finally {
    console.log(`\ndocs-check: times\n${times.join('\n')}`);
    if (args.has('--keep')) console.log(`docs-check: clone kept at ${clone}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  if (failed) {
    console.error(`\ndocs-check: FAILED: ${failed}`);
    process.exitCode = 1;
  } else {
    console.log(`\ndocs-check: ok: ${blocks.filter((b) => !b.skip).length} blocks ran, ${blocks.filter((b) => b.skip).length} skipped by marker`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
