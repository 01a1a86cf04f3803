/**
 * @supcon/data without a network: the Fashion-MNIST sample shipped with the package, a seeded
 * stratified subset of it and a batch as tensors; then what a download would fetch, and a loader
 * that asks before downloading, declined. The downloads themselves (the `download` region) need
 * the network, which CI does not have: they run only with SUPCON_EXAMPLES_NETWORK=1, and then
 * fetch Fashion-MNIST (30 MB, unless found), CIFAR-10 (170 MB) and CIFAR-100 (169 MB) into a
 * temporary cache.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/data.ts`).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { createRng } from '@supcon/core';
import { ensureDataset, loadFashionMnist } from '@supcon/data';

await initBackend('wasm');

// #region sample
import { batchToTensor, loadFashionMnistSample, stratifiedIndices, subset } from '@supcon/data';

const train = await loadFashionMnistSample({ split: 'train' }); // 6000 images, 28×28×1 uint8, HWC
const test = await loadFashionMnistSample({ split: 'test' }); // 1000
const small = subset(train, stratifiedIndices(train.labels, 600, createRng(0))); // 60 of each class
const { images, labels } = batchToTensor(small, [0, 1, 2, 3]); // float32 [4, 28, 28, 1] in [0, 1], int32 [4]
// #endregion sample

if (train.size !== 6000 || test.size !== 1000 || train.shape.join('x') !== '28x28x1' || train.classes.length !== 10) {
  throw new Error(`sample: ${train.size} / ${test.size} images of ${train.shape.join('x')}, ${train.classes.length} classes`);
}
const perClass = Array.from({ length: 10 }, (_, c) => small.labels.filter((l) => l === c).length);
if (!perClass.every((n) => n === 60)) throw new Error(`a stratified subset of 600 holds 60 per class, got ${perClass.join(', ')}`);
const [lowest, highest] = tf.tidy(() => [tf.min(images).dataSync()[0]!, tf.max(images).dataSync()[0]!]);
if (images.shape.join('x') !== '4x28x28x1' || lowest < 0 || highest > 1 || labels.dataSync().join() !== Array.from(small.labels.slice(0, 4)).join()) {
  throw new Error(`batchToTensor: [${images.shape.join(', ')}], values ${lowest}..${highest}, labels ${labels.dataSync().join(', ')}`);
}
tf.dispose([images, labels]);

// A fresh, empty cache: this example sees what a machine without the datasets sees.
process.env.SUPCON_CACHE = mkdtempSync(path.join(tmpdir(), 'supcon-cache-'));

// #region offer
import { downloadOffer, formatBytes, loadCifar10 } from '@supcon/data';
import type { DownloadOffer } from '@supcon/data';

const offer = downloadOffer('cifar10'); // what ensureDataset('cifar10') would fetch now; fetches nothing
let asked: DownloadOffer | undefined;
const declined = await loadCifar10({
  split: 'train',
  download: (o) => {
    asked = o; // not found: the loader asks first (o says what and how much), and this declines
    return false;
  },
}).then(() => undefined, (error: Error) => error.message); // names the folders searched and how to download
// #endregion offer

if (offer.files.length !== 1 || offer.totalBytes !== 170052171) throw new Error(`CIFAR-10's offer: ${JSON.stringify(offer)}`);
const local = declined === undefined; // a CIFAR-10 found in /usr/share/datasets/cifar10 loads without asking
if (!local && (asked?.totalBytes !== offer.totalBytes || !declined!.includes('supcon download cifar10'))) {
  throw new Error(`a declined download: asked ${JSON.stringify(asked)}, error ${declined}`);
}

let downloaded = 'downloads skipped (set SUPCON_EXAMPLES_NETWORK=1 to run them)';
if (process.env.SUPCON_EXAMPLES_NETWORK === '1') {
  // #region download
  await loadFashionMnist({ split: 'train', download: true }); // downloads when not found
  await loadCifar10({ split: 'train', download: (offer) => offer.totalBytes < 200e6 }); // decides from the offer
  const dir = await ensureDataset('cifar100'); // the folder the loader reads
  // #endregion download
  if (!existsSync(path.join(dir, 'train.bin'))) throw new Error(`ensureDataset('cifar100') gave ${dir}, which has no train.bin`);
  downloaded = `downloaded into ${process.env.SUPCON_CACHE}`;
}
console.log(
  `sample ${train.size}/${test.size} images, stratified subset 60 per class, batch [${images.shape.join(', ')}]; ` +
    `CIFAR-10 ${local ? 'found locally' : `offered (${formatBytes(offer.totalBytes)}) and declined`}; ${downloaded}`,
);
