/**
 * The `supcon` bin as npm links it (bin/supcon.mjs, committed, loading the built dist/bin.js),
 * started from an empty folder: backends and plugins resolve from the CLI's own installation,
 * not from the current folder; a reader that closes early ends it quietly (no EPIPE trace).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const pkgDir = path.join(__dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
const bin = path.join(pkgDir, pkg.bin.supcon);
let empty: string;

beforeAll(() => {
  if (!existsSync(path.join(pkgDir, 'dist', 'bin.js'))) throw new Error('packages/cli/dist/bin.js is missing: build first (npx nx run @supcon/cli:build)');
  empty = mkdtempSync(path.join(tmpdir(), 'supcon-bin-'));
});
afterAll(() => rmSync(empty, { recursive: true, force: true }));

function supcon(args: string[], cwd = empty) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A run that takes seconds: 64 images of the shipped sample, a 2-layer CNN, one epoch, kNN only. */
function tinyConfig(name: string): string {
  const file = path.join(empty, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      backend: 'wasm',
      threads: 1,
      data: { type: 'fashion-mnist-sample', trainSize: 64, testSize: 40 },
      backbone: { type: 'small-cnn', channels: [4, 8] },
      head: { type: 'mlp', dim: 8 },
      loss: { type: 'supcon-out', temperature: 0.1 },
      train: { epochs: 1, batchSize: 32 },
      eval: [{ type: 'knn', k: 3 }],
      out: path.join(empty, 'runs', name),
    }),
  );
  return file;
}

describe('the committed bin', () => {
  it('is what package.json links, is executable, is published, and loads dist/bin.js', () => {
    expect(pkg.bin.supcon).toBe('bin/supcon.mjs');
    expect(pkg.files).toContain('bin');
    accessSync(bin, constants.X_OK);
    expect(readFileSync(bin, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    const r = supcon(['--version']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('says which command builds the CLI when dist/bin.js is missing', () => {
    // A copy of the bin next to an empty dist/: as in a fresh clone before the build.
    const fake = mkdtempSync(path.join(tmpdir(), 'supcon-unbuilt-'));
    try {
      const copy = path.join(fake, 'bin', 'supcon.mjs');
      mkdirSync(path.dirname(copy));
      writeFileSync(copy, readFileSync(bin));
      const r = spawnSync(process.execPath, [copy, '--help'], { cwd: fake, encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('the CLI is not built');
      expect(r.stderr).toContain('npm run build');
      expect(r.stderr).toContain('npx nx run @supcon/cli:build');
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });
});

describe('started from an empty folder', () => {
  it('doctor finds the wasm and cpu backends installed next to the CLI and exits 0', () => {
    const r = supcon(['doctor']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wasm +ok \(@tensorflow\/tfjs-backend-wasm 4\./);
    expect(r.out).toMatch(/cpu +ok \(@tensorflow\/tfjs-backend-cpu 4\./);
    expect(r.out).toMatch(/tfjs-layers +4\./);
  });

  it('validate loads a plugin given by package name from the CLI installation', () => {
    const file = path.join(empty, 'plugin.yaml');
    writeFileSync(file, 'plugins: [supcon-plugin-align-uniform]\ndata: { type: fashion-mnist-sample }\nloss: { type: align-uniform, t: 2 }\ntrain: { epochs: 1, batchSize: 64 }\n');
    const r = supcon(['validate', '--config', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('loss align-uniform');
  });

  it('train starts the wasm backend', () => {
    const r = supcon(['train', '--config', tinyConfig('from-empty'), '--no-report']);
    expect(r.err).not.toMatch(/is not installed/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/images\/s on wasm/);
  });
});

describe('a reader that closes early', () => {
  /** Runs the bin with stdout or stderr closed by the reader before (or after) the first chunk. */
  function closeEarly(args: string[], stream: 'stdout' | 'stderr', when: 'at-once' | 'first-chunk'): Promise<{ code: number | null; signal: string | null; other: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: empty, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
      const closed = child[stream];
      const kept = child[stream === 'stdout' ? 'stderr' : 'stdout'];
      let other = '';
      kept.on('data', (d: Buffer) => (other += d.toString()));
      if (when === 'at-once') closed.destroy();
      else closed.once('data', () => closed.destroy());
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, other }));
    });
  }

  it('stdout closed at once: doctor exits 0 with no EPIPE trace', async () => {
    const r = await closeEarly(['doctor'], 'stdout', 'at-once');
    expect(r.other).not.toMatch(/EPIPE|Error/);
    expect(r).toMatchObject({ code: 0, signal: null });
  });

  it('stderr closed after its first line: train exits 0 with no EPIPE trace', async () => {
    const r = await closeEarly(['train', '--config', tinyConfig('stderr-closed'), '--no-report', '--log-interval', '0'], 'stderr', 'first-chunk');
    expect(r.other).not.toMatch(/EPIPE|Error/);
    expect(r).toMatchObject({ code: 0, signal: null });
  });

  it('`supcon train ... | head -1` prints one line and nothing on stderr but progress', () => {
    const err = path.join(empty, 'head.err');
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${bin}" train --config "${tinyConfig('head')}" 2>"${err}" | head -1`], { cwd: empty, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^run: /);
    expect(readFileSync(err, 'utf8')).not.toMatch(/EPIPE|at .*\(node:|Error/);
  });
});
