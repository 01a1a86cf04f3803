/** Shared by sweep.test.ts and sweep-redis.test.ts: the tiny base config of their sweeps, and sweep files written beside it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The tiny SupCon run of train's reference.json: 200 / 100 sample images, 2 epochs of 4 steps, seconds on one thread. */
export const tinyBase = {
  seed: 3,
  backend: 'wasm',
  threads: 1,
  data: { type: 'fashion-mnist-sample', trainSize: 200, testSize: 100 },
  backbone: { type: 'small-cnn', channels: [4, 8] },
  head: { type: 'mlp', dim: 16 },
  loss: { type: 'supcon-out', temperature: 0.1 },
  train: { epochs: 2, batchSize: 50 },
  eval: [{ type: 'linear-probe' }, { type: 'knn', k: 5 }],
};

/**
 * `<root>/<name>/base.json` (`config`) and a sweep file beside it (`file`, default sweep.json) with
 * `base: ./base.json`, `out: <root>/<name>/<out>` (default runs) and `body`; returns the sweep file.
 */
export function writeSweepFile(root: string, name: string, body: Record<string, unknown>, options: { config?: Record<string, unknown>; out?: string; file?: string } = {}): string {
  const folder = path.join(root, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'base.json'), JSON.stringify(options.config ?? tinyBase));
  const file = path.join(folder, options.file ?? 'sweep.json');
  writeFileSync(file, JSON.stringify({ base: './base.json', out: path.join(folder, options.out ?? 'runs'), ...body }));
  return file;
}
