/** A dataset part from a split loader: each split loaded once, the seeded stratified subsets asked for. */
import type { BuildContext, DatasetPart, ImageDataset } from '@supcon/core';
import type { Split } from './mnist-format';
import { createRng } from '@supcon/core';
import { longTailIndices, stratifiedIndices, subset } from './subsets';

/**
 * `trainSize` / `testSize`: the sizes of the seeded stratified subsets (default: whole splits);
 * `longTail`: a long-tailed training split (longTailIndices), taken before `trainSize`.
 */
export interface SubsetSizes {
  trainSize?: number;
  testSize?: number;
  longTail?: { imbalanceRatio: number; seed?: number };
}

/** A DatasetPart that loads each split once and takes the seeded stratified subsets asked for. */
export function datasetPart(load: (split: Split) => Promise<ImageDataset>, options: SubsetSizes, context: BuildContext): DatasetPart {
  const cache = new Map<Split, Promise<ImageDataset>>();
  return {
    load(split) {
      let p = cache.get(split);
      if (!p) {
        p = load(split).then((loaded) => {
          let full = loaded;
          if (split === 'train' && options.longTail) {
            const { imbalanceRatio, seed } = options.longTail;
            full = subset(full, longTailIndices(full.labels, { imbalanceRatio, rng: seed === undefined ? context.rng.fork('long-tail') : createRng(seed) }));
          }
          const size = split === 'train' ? options.trainSize : options.testSize;
          if (size === undefined) return full;
          if (size > full.size) {
            // Clamped to the whole split: say so, rather than silently train on fewer images.
            context.logger?.warn(
              `data.${split === 'train' ? 'trainSize' : 'testSize'}: ${size} images requested, but the ${split} split has only ${full.size}: using all ${full.size}`,
            );
          }
          return subset(full, stratifiedIndices(full.labels, size, context.rng.fork(split)));
        });
        cache.set(split, p);
      }
      return p;
    },
  };
}
