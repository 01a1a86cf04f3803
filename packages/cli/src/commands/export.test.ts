/**
 * `supcon export` end to end, in-process through `main()`: a tiny run trained from a config file
 * (the reference SupCon config of @supcon/train's tests, wasm on one thread), exported, and loaded
 * back with `loadEncoder`; its features equal those of an export made by calling `exportEncoder`
 * directly, whose own round trip packages/train/test/export.test.ts checks against the checkpoint.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { exportEncoder, loadEncoder, train } from '@supcon/train';
import { main } from '../main';

const config = {
  seed: 3,
  backend: 'wasm',
  threads: 1,
  data: { type: 'fashion-mnist', sample: true, trainSize: 200, testSize: 100 },
  backbone: { type: 'small-cnn', channels: [4, 8] },
  head: { type: 'mlp', dim: 16 },
  train: { epochs: 2, batchSize: 50 },
  eval: [{ type: 'knn', k: 5 }],
  name: 'export-cli',
  loss: { type: 'supcon-out' },
};

let dir: string;
let runDir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'supcon-export-cli-'));
  runDir = path.join(dir, 'run');
  const file = path.join(dir, 'supcon.config.json');
  writeFileSync(file, JSON.stringify(config));
  // From the config file, as `supcon train` does (source.json names it; the export rebuilds from it).
  await train(file, { out: runDir, logger: { info: () => undefined, warn: () => undefined } });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { print: (l) => out.push(l), printError: (l) => err.push(l) });
  return { code, out, err };
}

/** The built CLI (dist/bin.js), when it is built and has this command: a fresh process, where nothing has started a backend yet. */
const distBin = path.join(__dirname, '../../dist/bin.js');
const built = existsSync(distBin) && readFileSync(distBin, 'utf8').includes('exportEncoder');

const images = () => tf.randomUniformInt([6, 28, 28, 1], 0, 256, 7);

describe('supcon export', () => {
  it('writes model.json, the weights and supcon.json, prints them, and loadEncoder gives the features exportEncoder does', async () => {
    const out = path.join(dir, 'encoder');
    const { code, out: lines, err } = await run(['export', '--run', runDir, '--out', out]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(lines[0]).toBe(`exported the encoder of ${runDir} (checkpoints/epoch-0002, supcon) to ${out}:`);
    expect(lines.slice(1, 4)).toEqual(['  group1-shard1of1.bin', '  model.json', '  supcon.json']);
    expect(lines[4]).toMatch(/^input \[28, 28, 1\] \(uint8 \/ 255 → \[0, 1\]\) -> features \[8\]; 10 classes; checked on 8 test images/);
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'supcon.json']);
    const meta = JSON.parse(readFileSync(path.join(out, 'supcon.json'), 'utf8'));
    expect(meta).toMatchObject({ format: 'supcon-encoder', version: 1, withHead: false, featureDim: 8, stage: 'supcon', config: JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8')) });

    const direct = path.join(dir, 'direct');
    await exportEncoder(runDir, direct);
    const [a, b] = [await loadEncoder(out), await loadEncoder(direct)];
    const x = images();
    const fa = a.embed(x);
    const fb = b.embed(x);
    expect(fa.shape).toEqual([6, 8]);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(fa, fb))).dataSync()[0])).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, fa, fb]);
    a.dispose();
    b.dispose();
  }, 120_000);

  it('--with-head --checkpoint NAME --overwrite replaces the export with the head of that checkpoint', async () => {
    const out = path.join(dir, 'encoder-head');
    expect((await run(['export', '--run', runDir, '--out', out])).code).toBe(0);
    writeFileSync(path.join(out, 'README.txt'), 'mine');
    const { code, out: lines } = await run(['export', '--run', runDir, '--out', out, '--with-head', '--checkpoint', 'epoch-0001', '--overwrite']);
    expect(code).toBe(0);
    expect(lines[0]).toBe(`exported the encoder + head of ${runDir} (checkpoints/epoch-0001, supcon) to ${out}:`);
    const meta = JSON.parse(readFileSync(path.join(out, 'supcon.json'), 'utf8'));
    expect(meta).toMatchObject({ withHead: true, featureDim: 16, checkpoint: 'checkpoints/epoch-0001', epochs: 1, output: 'projection' });
    expect(readFileSync(path.join(out, 'README.txt'), 'utf8')).toBe('mine');
    const encoder = await loadEncoder(out);
    const x = images();
    const f = encoder.embed(x);
    expect(f.shape).toEqual([6, 16]);
    tf.dispose([x, f]);
    encoder.dispose();
  }, 120_000);

  it('refuses a non-empty --out without --overwrite, a missing run folder and a missing --out, with exit code 1', async () => {
    const busy = path.join(dir, 'busy');
    expect((await run(['export', '--run', runDir, '--out', busy])).code).toBe(0);
    const before = readdirSync(busy).map((f) => [f, readFileSync(path.join(busy, f)).length]);
    const refused = await run(['export', '--run', runDir, '--out', busy, '--with-head']);
    expect(refused.code).toBe(1);
    expect(refused.err.join('\n')).toContain(`supcon: exportEncoder: ${busy} is not empty (group1-shard1of1.bin, model.json, supcon.json): choose an empty folder, or pass overwrite (--overwrite)`);
    expect(readdirSync(busy).map((f) => [f, readFileSync(path.join(busy, f)).length])).toEqual(before);

    const missing = await run(['export', '--run', path.join(dir, 'no-run'), '--out', path.join(dir, 'x')]);
    expect(missing.code).toBe(1);
    expect(missing.err.join('\n')).toContain(`export: no such run folder: ${path.join(dir, 'no-run')}`);

    const noOut = await run(['export', '--run', runDir]);
    expect(noOut.code).toBe(1);
    expect(noOut.err.join('\n')).toMatch(/required option '-o, --out <dir>' not specified/);
  }, 120_000);

  (built ? it : it.skip)('the built bin exports in a fresh process, starting the backend the run names', () => {
    const out = path.join(dir, 'encoder-bin');
    const r = spawnSync(process.execPath, [path.join(__dirname, '../../bin/supcon.mjs'), 'export', '--run', runDir, '--out', out], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`to ${out}:`);
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'supcon.json']);
  }, 120_000);
});
