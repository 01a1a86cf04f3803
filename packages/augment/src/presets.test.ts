import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createRng } from '@supcon/core';
import type { AugmentationPart } from '@supcon/core';
import {
  augmentPlugin,
  autoAugment,
  CIFAR10_POLICY,
  colorJitter,
  IMAGENET_POLICY,
  multiView,
  none,
  randAugment,
  randomGaussianBlur,
  randomGrayscale,
  randomHorizontalFlip,
  randomResizedCrop,
  simclr,
  stackedRandAugment,
} from './index';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Seeded pseudo-random pixels in [0, 1). */
function image(b: number, h: number, w: number, c: number, seed = 1): tf.Tensor4D {
  const rng = createRng(seed);
  return tf.tensor4d(Float32Array.from({ length: b * h * w * c }, () => rng.next()), [b, h, w, c]);
}

function run(part: AugmentationPart, x: tf.Tensor4D, seed: number): Float32Array {
  const before = tf.memory().numTensors;
  const out = part.apply(x, createRng(seed));
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(out.shape).toEqual(x.shape);
  expect(out.dtype).toBe('float32');
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

const presets: Array<[string, () => AugmentationPart]> = [
  ['simclr', () => simclr()],
  ['simclr+blur', () => simclr({ blur: { p: 0.5 } })],
  ['randAugment', () => randAugment({ n: 2, m: 9 })],
  ['autoAugment imagenet', () => autoAugment('imagenet')],
  ['autoAugment cifar10', () => autoAugment('cifar10')],
  ['stackedRandAugment', () => stackedRandAugment()],
  ['none', () => none()],
];

describe.each(presets)('%s', (_name, make) => {
  test.each([3, 1])('%i channels: same seed same output, values stay in [0, 1], no leaks', (c) => {
    const x = image(16, 12, 12, c);
    const a = run(make(), x, 5);
    const b = run(make(), x, 5);
    expect(Array.from(a)).toEqual(Array.from(b));
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of a) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1 + 1e-6);
    if (_name !== 'none') {
      const other = run(make(), x, 6);
      expect(Array.from(other)).not.toEqual(Array.from(a));
    }
    x.dispose();
  });
});

describe('random transforms', () => {
  test('randomHorizontalFlip: p=1 mirrors every image, p=0 none; about half at p=0.5', () => {
    const x = image(40, 3, 4, 1);
    const mirrored = tf.reverse(x, 2).dataSync();
    expect(Array.from(run(randomHorizontalFlip(1), x, 1))).toEqual(Array.from(mirrored));
    expect(Array.from(run(randomHorizontalFlip(0), x, 1))).toEqual(Array.from(x.dataSync()));
    const half = tf.tensor4d(run(randomHorizontalFlip(0.5), x, 3), x.shape);
    const flippedCount = tf.sum(tf.cast(tf.any(tf.notEqual(half, x), [1, 2, 3]), 'int32')).dataSync()[0];
    expect(flippedCount).toBeGreaterThan(8);
    expect(flippedCount).toBeLessThan(32);
  });

  test('randomResizedCrop with scale 1 and ratio 1 on square images is the identity or its mirror', () => {
    const x = image(6, 8, 8, 3);
    const out = tf.tensor4d(run(randomResizedCrop({ scale: [1, 1], ratio: [1, 1], flipProbability: 0.5 }), x, 2), x.shape);
    const same = tf.max(tf.abs(tf.sub(out, x)), [1, 2, 3]).dataSync();
    const mirror = tf.max(tf.abs(tf.sub(out, tf.reverse(x, 2))), [1, 2, 3]).dataSync();
    for (let i = 0; i < 6; i++) expect(Math.min(same[i], mirror[i])).toBeLessThan(1e-5);
  });

  test('randomResizedCrop of a constant image stays constant (any box), and resizes to `size`', () => {
    const x = tf.fill([4, 10, 14, 3], 0.25) as tf.Tensor4D;
    const out = randomResizedCrop({ scale: [0.2, 1], size: [6, 5] }).apply(x, createRng(1));
    expect(out.shape).toEqual([4, 6, 5, 3]);
    for (const v of out.dataSync()) expect(v).toBeCloseTo(0.25, 6);
  });

  test('randomGrayscale: p=1 gives equal channels equal to the luma; 1-channel passes through', () => {
    const x = image(5, 4, 4, 3);
    const out = run(randomGrayscale(1), x, 1);
    const src = x.dataSync();
    for (let p = 0; p < out.length; p += 3) {
      const g = 0.2989 * src[p] + 0.587 * src[p + 1] + 0.114 * src[p + 2];
      expect(out[p]).toBeCloseTo(g, 5);
      expect(out[p + 1]).toBe(out[p]);
      expect(out[p + 2]).toBe(out[p]);
    }
    const mono = image(5, 4, 4, 1);
    expect(Array.from(run(randomGrayscale(1), mono, 1))).toEqual(Array.from(mono.dataSync()));
  });

  test('colorJitter with brightness only scales each image by one factor in [0.6, 1.4]', () => {
    const x = tf.fill([30, 3, 3, 3], 0.5) as tf.Tensor4D;
    const out = run(colorJitter({ brightness: 0.4, contrast: 0, saturation: 0, hue: 0, p: 1 }), x, 9);
    const factors = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const f = out[i * 27] / 0.5;
      expect(f).toBeGreaterThanOrEqual(0.6 - 1e-6);
      expect(f).toBeLessThanOrEqual(1.4 + 1e-6);
      for (let k = 0; k < 27; k++) expect(out[i * 27 + k]).toBeCloseTo(out[i * 27], 6);
      factors.add(f.toFixed(4));
    }
    expect(factors.size).toBeGreaterThan(25);
    // p = 0 leaves every image unchanged.
    expect(Array.from(run(colorJitter({ p: 0 }), x, 9))).toEqual(Array.from(x.dataSync()));
  });

  test('colorJitter on 1-channel images changes only brightness/contrast (a constant image stays constant per image)', () => {
    const x = tf.fill([10, 4, 4, 1], 0.4) as tf.Tensor4D;
    const out = run(colorJitter({ p: 1 }), x, 4);
    for (let i = 0; i < 10; i++) for (let k = 0; k < 16; k++) expect(out[i * 16 + k]).toBeCloseTo(out[i * 16], 6);
  });

  test('randomGaussianBlur leaves constant images constant and smooths noise', () => {
    const flat = tf.fill([3, 8, 8, 3], 0.7) as tf.Tensor4D;
    for (const v of run(randomGaussianBlur({ kernelSize: 3, p: 1 }), flat, 1)) expect(v).toBeCloseTo(0.7, 5);
    const noise = image(3, 8, 8, 3);
    const out = tf.tensor4d(run(randomGaussianBlur({ kernelSize: 5, sigma: [1.5, 2], p: 1 }), noise, 1), noise.shape);
    const variance = (t: tf.Tensor): number => tf.moments(t).variance.dataSync()[0];
    expect(variance(out)).toBeLessThan(variance(noise) / 2);
  });

  test('multiView stacks independent views: view v equals the v-th sequential draw', () => {
    const x = image(4, 6, 6, 3);
    const aug = simclr();
    const before = tf.memory().numTensors;
    const views = multiView(aug, 3).apply(x, createRng(8));
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(views.shape).toEqual([4, 3, 6, 6, 3]);
    const rng = createRng(8);
    const seq = [0, 1, 2].map(() => aug.apply(x, rng));
    for (let v = 0; v < 3; v++) {
      const got = tf.squeeze(tf.slice(views, [0, v], [4, 1]), [1]);
      expect(Array.from(got.dataSync())).toEqual(Array.from(seq[v].dataSync()));
    }
    expect(Array.from(seq[0].dataSync())).not.toEqual(Array.from(seq[1].dataSync()));
    expect(() => multiView(aug, 0)).toThrow('multiView: views must be a positive integer, got 0');
  });
});

describe('policies', () => {
  test('the published policies have 25 two-step sub-policies with probabilities in [0, 1] and magnitudes 0..9', () => {
    for (const table of [IMAGENET_POLICY, CIFAR10_POLICY]) {
      expect(table).toHaveLength(25);
      for (const sub of table)
        for (const [, p, m] of sub) {
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(1);
          if (m !== null) expect(m >= 0 && m <= 9 && Number.isInteger(m)).toBe(true);
        }
    }
  });

  test('randAugment with n=0 is the identity; bad options name the argument', () => {
    const x = image(3, 5, 5, 3);
    expect(Array.from(run(randAugment({ n: 0 }), x, 1))).toEqual(Array.from(x.dataSync()));
    expect(() => randAugment({ m: 40 })).toThrow('randAugment: m must be in [0, 30] (numMagnitudeBins - 1), got 40');
    expect(() => autoAugment('svhn' as 'cifar10')).toThrow("autoAugment: policy must be 'imagenet' or 'cifar10', got 'svhn'");
  });

  test('randAugment at magnitude 0 changes only via magnitude-free ops (constant images stay constant)', () => {
    // Every op at magnitude 0 maps a constant image to a constant image (translate/shear/rotate by 0,
    // factors 1, posterize 8 bits ~ quantise, solarize threshold 1, autocontrast/equalize of a flat channel).
    const x = tf.fill([20, 6, 6, 3], 0.6) as tf.Tensor4D;
    const out = run(randAugment({ n: 2, m: 0 }), x, 3);
    for (let i = 0; i < 20; i++) for (let k = 0; k < 108; k++) expect(out[i * 108 + k]).toBeCloseTo(out[i * 108], 5);
  });
});

describe('plugin', () => {
  test('every augmentation builds from defaults and its output is in range and deterministic', async () => {
    const x = image(4, 8, 8, 3);
    const names = Object.keys(augmentPlugin.augmentations);
    expect(names).toEqual(
      expect.arrayContaining(['simclr', 'rand-augment', 'auto-augment', 'stacked-rand-augment', 'none']),
    );
    for (const name of names) {
      const factory = augmentPlugin.augmentations[name as keyof typeof augmentPlugin.augmentations];
      const part = (await factory.create(factory.schema.parse({}) as never, { rng: createRng(0) })) as AugmentationPart;
      const a = run(part, x, 2);
      expect(Array.from(run(part, x, 2))).toEqual(Array.from(a));
    }
  });

  test('simclr normalize: "cifar10" applies the SupContrast statistics', async () => {
    const f = augmentPlugin.augmentations.simclr;
    const opts = f.schema.parse({ normalize: 'cifar10', scale: [1, 1], ratio: [1, 1], flipProbability: 0, colorJitter: false, grayscaleProbability: 0 });
    const part = await f.create(opts, { rng: createRng(0) });
    const x = tf.fill([1, 4, 4, 3], 0.5) as tf.Tensor4D;
    const out = run(part, x, 1);
    expect(out[0]).toBeCloseTo((0.5 - 0.4914) / 0.2023, 4);
    expect(out[2]).toBeCloseTo((0.5 - 0.4465) / 0.201, 4);
    expect(() => f.schema.parse({ scale: [0.5, 0.2] })).toThrow();
  });
});

describe('wasm backend', () => {
  test('every preset gives the cpu result on wasm (same draws, same kernels semantics)', async () => {
    const x0 = image(8, 10, 10, 3);
    const input = x0.dataSync().slice();
    const cpu = presets.map(([, make]) => run(make(), x0, 11));
    expect(await tf.setBackend('wasm')).toBe(true);
    await tf.ready();
    try {
      const x = tf.tensor4d(input, [8, 10, 10, 3]);
      presets.forEach(([name, make], k) => {
        const got = run(make(), x, 11);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - cpu[k][i]));
        // Posterize/solarize/equalize can flip a level at a float boundary; allow one level.
        expect({ name, ok: worst < 5e-3 }).toEqual({ name, ok: true });
      });
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
