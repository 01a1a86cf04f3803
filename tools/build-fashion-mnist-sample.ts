/**
 * Builds the Fashion-MNIST sample shipped in @supcon/data: a seeded, class-stratified subset
 * (6000 train, 1000 test) of Debian's dataset-fashion-mnist, written as gzip IDX files.
 *
 *   node --import jiti/register tools/build-fashion-mnist-sample.ts [/usr/share/datasets/fashion-mnist]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRng } from '../packages/core/src/rng';
import { encodeIdx } from '../packages/data/src/idx';
import { loadMnistFormat, FASHION_MNIST_CLASSES, stratifiedIndices, subset } from '../packages/data/src/mnist';

const SIZES = { train: 6000, test: 1000 } as const;
const SEED = 20200423; // arXiv 2004.11362

async function main(): Promise<void> {
  const source = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
  const out = path.join(__dirname, '..', 'packages', 'data', 'sample', 'fashion-mnist');
  mkdirSync(out, { recursive: true });
  const rng = createRng(SEED);
  for (const split of ['train', 'test'] as const) {
    const full = await loadMnistFormat(source, split, FASHION_MNIST_CLASSES);
    const part = subset(full, stratifiedIndices(full.labels, SIZES[split], rng.fork(split)));
    const prefix = split === 'train' ? 'train' : 't10k';
    const [h, w] = part.shape;
    writeFileSync(path.join(out, `${prefix}-images-idx3-ubyte.gz`), gzipSync(encodeIdx([part.size, h, w], part.images), { level: 9 }));
    writeFileSync(path.join(out, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(encodeIdx([part.size], Uint8Array.from(part.labels)), { level: 9 }));
    console.log(`${split}: ${part.size} images from ${full.size}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
