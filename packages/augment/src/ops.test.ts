import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRng } from '@supcon/core';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  adjustSharpness,
  autoContrast,
  equalize,
  gaussianBlur,
  grayscale,
  horizontalFlip,
  normalize,
  posterize,
  resizedCrop,
  solarize,
} from './ops';
import { applyOp } from './policies';
import { sampleCropBox } from './transforms';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Seeded pseudo-random pixels in [0, 1) (a generator of their own, apart from the ops' rng). */
function pixels(n: number, seed = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.next());
}

function image(b: number, h: number, w: number, c: number, seed = 1): tf.Tensor4D {
  return tf.tensor4d(pixels(b * h * w * c, seed), [b, h, w, c]);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Runs fn and checks it leaves exactly one new tensor (its result). */
function noLeak<T extends tf.Tensor>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  expect(tf.memory().numTensors).toBe(before + 1);
  return out;
}

describe('geometry', () => {
  test('affine warps every image of a batch with its own matrix (tfjs-cpu Transform only did the first)', () => {
    const x = image(3, 4, 4, 1);
    const out = noLeak(() => applyOp('TranslateY', x, [1, -1, 0])).arraySync();
    const src = x.arraySync();
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++) {
        expect(out[0][r][c][0]).toBe(r >= 1 ? src[0][r - 1][c][0] : 0);
        expect(out[1][r][c][0]).toBe(r <= 2 ? src[1][r + 1][c][0] : 0);
        expect(out[2][r][c][0]).toBe(src[2][r][c][0]);
      }
  });

  test('horizontalFlip mirrors exactly the flagged images', () => {
    const x = image(3, 4, 5, 2);
    const out = noLeak(() => horizontalFlip(x, [true, false, true]));
    const src = x.arraySync();
    const got = out.arraySync();
    for (let i = 0; i < 3; i++)
      for (let r = 0; r < 4; r++)
        for (let c = 0; c < 5; c++) {
          const expected = i === 1 ? src[i][r][c] : src[i][r][4 - c];
          expect(got[i][r][c]).toEqual(expected);
        }
  });

  test('resizedCrop of the full image is the identity, and with flip the mirror', () => {
    const x = image(2, 6, 6, 3);
    const full = { top: 0, left: 0, height: 6, width: 6 };
    const out = noLeak(() => resizedCrop(x, [full, full], [false, true], [6, 6]));
    expectClose(tf.slice(out, [0], [1]).dataSync(), tf.slice(x, [0], [1]).dataSync());
    expectClose(tf.slice(out, [1], [1]).dataSync(), tf.reverse(tf.slice(x, [1], [1]), 2).dataSync());
  });

  test('resizedCrop samples bilinearly at half-pixel centres (linear ramp, naive reference)', () => {
    // value = 0.1 * column + 0.01 * row: bilinear sampling of a linear function is exact.
    const H = 10;
    const W = 12;
    const data = new Float32Array(H * W);
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) data[r * W + c] = 0.05 * c + 0.01 * r;
    const x = tf.tensor4d(data, [1, H, W, 1]);
    const box = { top: 2, left: 3, height: 5, width: 6 };
    const out = resizedCrop(x, [box], [false], [8, 9]).dataSync();
    for (let u = 0; u < 8; u++)
      for (let v = 0; v < 9; v++) {
        const sy = box.top + ((u + 0.5) * box.height) / 8 - 0.5;
        const sx = box.left + ((v + 0.5) * box.width) / 9 - 0.5;
        expect(out[u * 9 + v]).toBeCloseTo(0.05 * sx + 0.01 * sy, 5);
      }
  });

  test('sampleCropBox keeps area and aspect ratio within bounds and the box inside the image', () => {
    const rng = createRng(7);
    let fallbacks = 0;
    for (let t = 0; t < 2000; t++) {
      const [H, W] = t % 2 ? [32, 32] : [28, 40];
      const box = sampleCropBox(rng, H, W, [0.2, 1], [3 / 4, 4 / 3]);
      expect(box.top).toBeGreaterThanOrEqual(0);
      expect(box.left).toBeGreaterThanOrEqual(0);
      expect(box.top + box.height).toBeLessThanOrEqual(H);
      expect(box.left + box.width).toBeLessThanOrEqual(W);
      const ratio = box.width / box.height;
      // Rounding of w and h to whole pixels moves the ratio by at most about 1/h relative.
      const slack = 1 / Math.min(box.height, box.width) + 1e-9;
      expect(ratio).toBeGreaterThanOrEqual((3 / 4) * (1 - slack));
      expect(ratio).toBeLessThanOrEqual((4 / 3) * (1 + slack));
      const area = (box.width * box.height) / (H * W);
      if (area > 1 - 1e-9 && box.height === H && box.width === W) fallbacks++;
      expect(area).toBeGreaterThanOrEqual(0.2 * (1 - 2 * slack) - 1e-9);
      expect(area).toBeLessThanOrEqual(1);
    }
    expect(fallbacks).toBeLessThan(2000);
  });

  test('sampleCropBox falls back to the central crop with the ratio clamped', () => {
    // A 10x100 image cannot hold any 3/4..4/3 crop of area >= 0.9: every try fails.
    const box = sampleCropBox(createRng(1), 10, 100, [0.9, 1], [3 / 4, 4 / 3]);
    expect(box).toEqual({ top: 0, left: Math.floor((100 - 13) / 2), height: 10, width: 13 });
  });

  test('Rotate by 90 degrees equals a transpose of the mirrored image; TranslateX shifts with zero fill', () => {
    const x = image(1, 5, 5, 2);
    const rot = noLeak(() => applyOp('Rotate', x, [90]));
    const expected = tf.transpose(tf.reverse(x, 2), [0, 2, 1, 3]);
    expectClose(rot.dataSync(), expected.dataSync());
    const shifted = applyOp('TranslateX', x, [2]).arraySync()[0];
    const src = x.arraySync()[0];
    for (let r = 0; r < 5; r++)
      for (let c = 0; c < 5; c++) expect(shifted[r][c]).toEqual(c >= 2 ? src[r][c - 2] : [0, 0]);
  });
});

/** Naive per-pixel references. */
const gray = (r: number, g: number, b: number): number => 0.2989 * r + 0.587 * g + 0.114 * b;
const clamp = (v: number): number => Math.min(1, Math.max(0, v));

function hsvShift(r: number, g: number, b: number, shift: number): [number, number, number] {
  // Textbook HSV (as Python's colorsys), written independently of ops.ts.
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const v = max;
  if (max === min) return [r, g, b];
  const s = (max - min) / max;
  const rc = (max - r) / (max - min);
  const gc = (max - g) / (max - min);
  const bc = (max - b) / (max - min);
  let h = r === max ? bc - gc : g === max ? 2 + rc - bc : 4 + gc - rc;
  h = (((h / 6) % 1) + 1) % 1;
  h = (((h + shift) % 1) + 1) % 1;
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  return [
    [v, q, p, p, t, v][i % 6],
    [t, v, v, q, p, p][i % 6],
    [p, p, t, v, v, q][i % 6],
  ];
}

describe('colour', () => {
  const b = 3;
  const h = 4;
  const w = 5;
  const x = (): tf.Tensor4D => image(b, h, w, 3, 11);

  test('brightness, contrast and saturation match a naive per-pixel loop', () => {
    const img = x();
    const src = img.dataSync();
    const f = [0.6, 1.0, 1.4];
    const n = h * w;
    const bright = noLeak(() => adjustBrightness(img, f)).dataSync();
    const contrast = noLeak(() => adjustContrast(img, f)).dataSync();
    const sat = noLeak(() => adjustSaturation(img, f)).dataSync();
    for (let i = 0; i < b; i++) {
      let mean = 0;
      for (let p = 0; p < n; p++) mean += gray(src[(i * n + p) * 3], src[(i * n + p) * 3 + 1], src[(i * n + p) * 3 + 2]) / n;
      for (let p = 0; p < n; p++) {
        const o = (i * n + p) * 3;
        const g = gray(src[o], src[o + 1], src[o + 2]);
        for (let c = 0; c < 3; c++) {
          expect(bright[o + c]).toBeCloseTo(clamp(f[i] * src[o + c]), 5);
          expect(contrast[o + c]).toBeCloseTo(clamp(f[i] * src[o + c] + (1 - f[i]) * mean), 5);
          expect(sat[o + c]).toBeCloseTo(clamp(f[i] * src[o + c] + (1 - f[i]) * g), 5);
        }
      }
    }
  });

  test('hue shift matches a textbook HSV round trip; 0 is the identity, 1-channel passes through', () => {
    const img = x();
    const src = img.dataSync();
    const f = [-0.3, 0, 0.25];
    const out = noLeak(() => adjustHue(img, f)).dataSync();
    const n = h * w;
    for (let i = 0; i < b; i++)
      for (let p = 0; p < n; p++) {
        const o = (i * n + p) * 3;
        const e = hsvShift(src[o], src[o + 1], src[o + 2], f[i]);
        for (let c = 0; c < 3; c++) expect(out[o + c]).toBeCloseTo(e[c], 5);
      }
    const mono = image(2, 3, 3, 1);
    expectClose(adjustHue(mono, [0.2, -0.2]).dataSync(), mono.dataSync(), 0);
    expectClose(adjustSaturation(mono, [0, 2]).dataSync(), mono.dataSync(), 0);
    expect(() => adjustHue(img, [0.6, 0, 0])).toThrow('adjustHue: factors[0] = 0.6, expected a value in [-0.5, 0.5]');
    expect(() => adjustBrightness(img, [1, 1])).toThrow('adjustBrightness: factors has 2 entries, images has batch 3');
  });

  test('grayscale gives equal channels equal to the luma, only on flagged images', () => {
    const img = x();
    const src = img.dataSync();
    const out = noLeak(() => grayscale(img, [true, false, true])).dataSync();
    const n = h * w;
    for (let i = 0; i < b; i++)
      for (let p = 0; p < n; p++) {
        const o = (i * n + p) * 3;
        for (let c = 0; c < 3; c++) expect(out[o + c]).toBeCloseTo(i === 1 ? src[o + c] : gray(src[o], src[o + 1], src[o + 2]), 5);
      }
  });

  test('gaussianBlur matches a naive 2-D convolution with reflect padding', () => {
    const img = image(2, 6, 7, 2, 5);
    const src = img.arraySync();
    const sig = [0.5, 1.7];
    const out = noLeak(() => gaussianBlur(img, 5, sig)).arraySync();
    const reflect = (i: number, n: number): number => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    for (let i = 0; i < 2; i++) {
      const k = [-2, -1, 0, 1, 2].map((d) => Math.exp(-0.5 * (d / sig[i]) ** 2));
      const ks = k.reduce((a, v) => a + v, 0);
      for (let r = 0; r < 6; r++)
        for (let c = 0; c < 7; c++)
          for (let ch = 0; ch < 2; ch++) {
            let acc = 0;
            for (let dy = -2; dy <= 2; dy++)
              for (let dx = -2; dx <= 2; dx++) acc += ((k[dy + 2] * k[dx + 2]) / (ks * ks)) * src[i][reflect(r + dy, 6)][reflect(c + dx, 7)][ch];
            expect(out[i][r][c][ch]).toBeCloseTo(acc, 5);
          }
    }
  });

  test('posterize, solarize, autoContrast, normalize: hand-computed values', () => {
    const v = tf.tensor4d([0, 0.2, 0.5, 0.74, 1, 0.3], [1, 2, 3, 1]);
    // levels floor(x * 255.999) = 0, 51, 127, 189, 255, 76; 2 bits keep multiples of 64.
    expectClose(posterize(v, [2]).dataSync(), [0, 0, 64 / 255, 128 / 255, 192 / 255, 64 / 255]);
    expectClose(solarize(v, [0.5]).dataSync(), [0, 0.2, 0.5, 0.26, 0, 0.3], 1e-6);
    const lowContrast = tf.tensor4d([0.2, 0.4, 0.3, 0.6, 0.5, 0.5], [1, 3, 1, 2]);
    // channel 0: 0.2, 0.3, 0.5 -> 0, 1/3, 1; channel 1 is flat at 0.4..0.6: 0.4, 0.6, 0.5 -> 0, 1, 0.5.
    expectClose(autoContrast(lowContrast).dataSync(), [0, 0, 1 / 3, 1, 1, 0.5], 1e-6);
    expectClose(normalize(v, [0.5], [0.25]).dataSync(), [-2, -1.2, 0, 0.96, 2, -0.8], 1e-6);
    expect(() => normalize(v, [0.5, 0.5, 0.5], [1, 1, 1])).toThrow('normalize: mean has 3 entries, images have 1 channels');
  });

  test('equalize: hand-computed lookup table; a flat channel is unchanged', () => {
    // 4 pixels at levels 0, 0, 128, 255 on a 2x2 image: hist 0:2, 128:1, 255:1.
    // step = floor((4 - 1) / 255) = 0 -> unchanged. Use 512 pixels instead: 256 at 0, 128 at 100, 128 at 200.
    const n = 512;
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = i < 256 ? 0 : i < 384 ? 100 / 255 : 200 / 255;
    const out = equalize(tf.tensor4d(d, [1, 16, 32, 1])).dataSync();
    // step = floor((512 - 128) / 255) = 1; lut[v] = cumsum before v (+0): lut[0] = 0, lut[100] = 256 -> 255, lut[200] = 384 -> 255.
    expect(out[0]).toBe(0);
    expect(out[300]).toBe(1);
    expect(out[500]).toBe(1);
    const small = tf.tensor4d([0, 0, 128 / 255, 1], [1, 2, 2, 1]);
    expectClose(equalize(small).dataSync(), [0, 0, 128 / 255, 1], 1e-6);
  });

  test('sharpness: factor 1 is the identity; factor 0 is the 3x3 smoothing inside, border kept', () => {
    const img = image(1, 4, 4, 1, 3);
    const src = img.arraySync()[0];
    expectClose(adjustSharpness(img, [1]).dataSync(), img.dataSync(), 1e-6);
    const smooth = adjustSharpness(img, [0]).arraySync()[0];
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++) {
        let e = src[r][c][0];
        if (r > 0 && r < 3 && c > 0 && c < 3) {
          e = 4 * src[r][c][0];
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) e += src[r + dy][c + dx][0];
          e /= 13;
        }
        expect(smooth[r][c][0]).toBeCloseTo(e, 5);
      }
  });
});
