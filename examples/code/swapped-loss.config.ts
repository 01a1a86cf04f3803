/**
 * A config file with the loss swapped: the same run as examples/fashion-mnist-tiny.yaml, but with
 * SupCon's L_in (the sum over positives inside the log, the paper's eq. 3) instead of L_out.
 * Only the `loss` slot changes; swap in `{ type: 'simclr' }` (labels ignored) or
 * `{ type: 'cross-entropy' }` (the encoder and a linear classifier trained end to end) the same way.
 *   npx --no-install supcon train --config examples/code/swapped-loss.config.ts
 * or from code: train('examples/code/swapped-loss.config.ts') (see swap-losses.ts).
 */
import { defineConfig } from '@supcon/train';

export default defineConfig({
  name: 'swapped-loss',
  seed: 0,
  data: { type: 'fashion-mnist-sample', trainSize: 512, testSize: 200 },
  backbone: { type: 'small-cnn', channels: [8, 16] },
  loss: { type: 'supcon-in', temperature: 0.1 },
  train: { epochs: 1, batchSize: 64 },
  out: 'runs/swapped-loss',
});
