// Compiled by `typecheck` (tsc): the CLI's defineConfig knows the built-in parts' types and options.
import { defineConfig } from './index';

export const ok = defineConfig({
  data: { type: 'fashion-mnist-sample', trainSize: 1000 },
  loss: { type: 'supcon-out', temperature: 0.1 },
  backbone: { type: 'resnet', depth: 18, stem: 'cifar' },
  optimizer: { type: 'lars', learningRate: 0.5 },
  train: { epochs: 4, batchSize: 128 },
});

export const typo = defineConfig({
  // @ts-expect-error 'supcon-otu' is not a registered loss type
  loss: { type: 'supcon-otu' },
  train: { epochs: 1, batchSize: 8 },
});

export const wrongOption = defineConfig({
  // @ts-expect-error temperature must be a number
  loss: { type: 'supcon-out', temperature: '0.1' },
  train: { epochs: 1, batchSize: 8 },
});
