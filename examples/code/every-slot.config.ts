/**
 * A config that sets every key there is, each to a value that runs in seconds on the
 * Fashion-MNIST sample; the comments give each key's default. No built-in plugin has hooks, so
 * the `hooks` slot gets its part from a small plugin defined here, listed in `plugins` as an
 * object. config-files.ts validates this file and trains it.
 *   npx --no-install supcon train --config examples/code/every-slot.config.ts
 */
import { defineFactory, definePlugin } from '@supcon/core';
import type { HookPart } from '@supcon/core';
import { z } from 'zod';

/** A hook that writes one `{ "kind": "custom", "note": ... }` line to metrics.jsonl per epoch. */
const epochNotes = definePlugin({
  name: 'every-slot-hooks',
  version: '1.0.0',
  hooks: {
    'epoch-note': defineFactory({
      schema: z.strictObject({ note: z.string().default('epoch done') }),
      create: ({ note }): HookPart => ({
        afterEpoch: (context, epoch, metrics) => context.log({ note, epoch, loss: metrics.loss ?? null }),
      }),
    }),
  },
});

// #region config
import { defineConfig } from '@supcon/train'; // or '@supcon/cli': the same function

export default defineConfig({
  name: 'every-slot', // optional; in reports and the default `out`
  seed: 0, // default 0: every random draw of the run derives from it
  backend: 'auto', // default; or 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu' ('webgl' | 'webgpu' in browsers)
  threads: 'auto', // default: the CPUs, at most 8 (wasm); or 1..8
  plugins: [epochNotes], // default []: plugin objects, or module specifiers relative to this file
  // Each part is { type, ...options }: the built-in defaults of a slot left out are in builtinDefaults.
  data: { type: 'fashion-mnist-sample', trainSize: 256, testSize: 100 },
  backbone: { type: 'small-cnn', channels: [8, 16] },
  head: { type: 'mlp', dim: 32 },
  augment: { type: 'simclr' },
  sampler: { type: 'm-per-class', m: 4 },
  loss: { type: 'supcon-out', temperature: 0.1 },
  optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4 },
  schedule: { type: 'cosine', warmupEpochs: 0 },
  train: { epochs: 1, batchSize: 32, views: 2 }, // views: default 2
  eval: [{ type: 'linear-probe' }, { type: 'knn', k: 20 }],
  hooks: [{ type: 'epoch-note', note: 'every slot set' }],
  checkpoint: { everySteps: 4 }, // default: a checkpoint after each epoch only
  out: 'runs/every-slot', // default 'runs/<name or "run">'
});
// #endregion config
