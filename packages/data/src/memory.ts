/** Datasets already in memory (decoded in a page, generated, or loaded some other way) as a dataset factory. */
import { defineFactory } from '@supcon/core';
import type { DatasetPart, Factory, ImageDataset } from '@supcon/core';
import { z } from 'zod';
import { datasetPart } from './dataset-part';

/** A split: the dataset, or a function that loads it (called once, when the runner asks for the split). */
export type ImageSplit = ImageDataset | (() => ImageDataset | Promise<ImageDataset>);

const memorySchema = z.strictObject({
  trainSize: z.number().int().positive().optional(),
  testSize: z.number().int().positive().optional(),
});

/** The options of an {@link imageDatasetFactory} dataset: the seeded stratified subsets' sizes. */
export type ImageDatasetOptions = z.output<typeof memorySchema>;

/** Throws unless `d` holds `size` HWC uint8 images and `size` labels inside its classes. */
export function checkImageDataset(d: ImageDataset, what = 'dataset'): void {
  const [h, w, c] = d.shape;
  if (!(Number.isInteger(d.size) && d.size >= 0)) throw new Error(`${what}.size: expected an integer >= 0, got ${d.size}`);
  if (!d.shape.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`${what}.shape: expected [h, w, c] positive integers, got [${d.shape.join(', ')}]`);
  if (!(d.images instanceof Uint8Array) || d.images.length !== d.size * h * w * c) {
    throw new Error(`${what}.images: expected a Uint8Array of ${d.size} x ${h} x ${w} x ${c} = ${d.size * h * w * c} values (HWC), got ${d.images?.length}`);
  }
  if (d.labels.length !== d.size) throw new Error(`${what}.labels: expected ${d.size} labels, got ${d.labels.length}`);
  for (let i = 0; i < d.labels.length; i++) {
    if (!(d.labels[i] >= 0 && d.labels[i] < d.classes.length)) throw new Error(`${what}.labels: label ${d.labels[i]} at index ${i} is outside 0..${d.classes.length - 1} (${d.classes.length} classes)`);
  }
}

/**
 * A dataset factory for images you already have: place it in your own plugin's `datasets` and
 * use its type in a config, with `trainSize` / `testSize` as for the built-in datasets (seeded
 * stratified subsets). Works in Node and browsers.
 * @example
 * const plugin = definePlugin({ name: 'my-data', datasets: { 'my-images': imageDatasetFactory({ train, test }) } });
 * // config: { plugins: [plugin], data: { type: 'my-images', trainSize: 1000 }, ... }
 */
export function imageDatasetFactory(splits: { train: ImageSplit; test: ImageSplit }, description = 'Images in memory'): Factory<typeof memorySchema, DatasetPart> {
  return defineFactory({
    schema: memorySchema,
    description,
    create: (o, ctx) =>
      datasetPart(
        async (split) => {
          const s = splits[split];
          const d = typeof s === 'function' ? await s() : s;
          checkImageDataset(d, `${split} split`);
          return d;
        },
        o,
        ctx,
      ),
  });
}
