/**
 * A typed config file, what `supcon.config.ts` in a project holds: the run of
 * examples/fashion-mnist-tiny.yaml, seconds on the Fashion-MNIST sample shipped with @supcon/data.
 * `defineConfig` is an identity whose types make tsc check every part's `type` and options
 * (`loss: { type: 'supcon-otu' }` fails the type-check). Parts it leaves out (head, augmentation,
 * sampler, optimizer, evaluators) take the defaults.
 *   npx --no-install supcon train --config examples/code/quick.config.ts
 * config-files.ts validates it and trains it.
 */
// #region config
import { defineConfig } from '@supcon/cli';

export default defineConfig({
  data: { type: 'fashion-mnist-sample', trainSize: 512, testSize: 200 }, // the full set: { type: 'fashion-mnist' }
  backbone: { type: 'small-cnn', channels: [8, 16] },
  loss: { type: 'supcon-out', temperature: 0.1 },
  train: { epochs: 1, batchSize: 64 },
  out: 'runs/quick',
});
// #endregion config
