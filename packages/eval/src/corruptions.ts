import type { Rng } from '@supcon/core';

/**
 * ImageNet-C style corruptions (Hendrycks & Dietterich 2019) on uint8 HWC images with any number
 * of channels. Severity levels 1..5 follow the CIFAR-10-C parameters where the operation is the
 * same; every random draw comes from the given `Rng`, so equal seeds give equal images.
 */
export const CORRUPTIONS = [
  'gaussian-noise',
  'shot-noise',
  'impulse-noise',
  'speckle-noise',
  'gaussian-blur',
  'defocus-blur',
  'contrast',
  'brightness',
  'pixelate',
  'jpeg',
  'fog',
] as const;
export type CorruptionName = (typeof CORRUPTIONS)[number];

/** Severity parameters, index 0 = severity 1. */
export const SEVERITY_PARAMS: Record<CorruptionName, readonly number[]> = {
  'gaussian-noise': [0.04, 0.06, 0.08, 0.09, 0.1], // std on [0, 1]
  'shot-noise': [500, 250, 100, 75, 50], // Poisson photons per unit intensity
  'impulse-noise': [0.01, 0.02, 0.03, 0.05, 0.07], // fraction of salt-and-pepper values
  'speckle-noise': [0.06, 0.1, 0.12, 0.16, 0.2], // std of multiplicative noise
  'gaussian-blur': [0.4, 0.6, 0.7, 0.8, 1], // sigma in pixels
  'defocus-blur': [1, 1.5, 2, 2.5, 3], // disk radius in pixels
  contrast: [0.75, 0.5, 0.4, 0.3, 0.15], // factor towards the image mean
  brightness: [0.1, 0.2, 0.3, 0.4, 0.5], // added to every channel on [0, 1]
  pixelate: [0.95, 0.9, 0.85, 0.75, 0.65], // relative side of the coarse grid
  jpeg: [80, 65, 58, 50, 40], // quality
  fog: [0.2, 0.5, 0.75, 1, 1.5], // strength of the smooth fog layer
};

type Op = (x: Float32Array, h: number, w: number, c: number, p: number, rng: Rng) => Float32Array;

const clip01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

function poisson(lambda: number, rng: Rng): number {
  if (lambda < 30) {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = rng.next();
    while (p > l) {
      k++;
      p *= rng.next();
    }
    return k;
  }
  return Math.max(0, Math.round(rng.normal(lambda, Math.sqrt(lambda))));
}

/** Convolves each channel with a normalised kernel given as (dy, dx, weight) taps, clamping at edges. */
function convolve(x: Float32Array, h: number, w: number, c: number, taps: [number, number, number][]): Float32Array {
  const out = new Float32Array(x.length);
  let total = 0;
  for (const t of taps) total += t[2];
  const nt = taps.length;
  const dys = Int32Array.from(taps, (t) => t[0]);
  const dxs = Int32Array.from(taps, (t) => t[1]);
  const wts = Float64Array.from(taps, (t) => t[2] / total);
  const acc = new Float64Array(c);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      acc.fill(0);
      for (let t = 0; t < nt; t++) {
        const y = Math.min(h - 1, Math.max(0, i + (dys[t] as number)));
        const xx = Math.min(w - 1, Math.max(0, j + (dxs[t] as number)));
        const base = (y * w + xx) * c;
        const wt = wts[t] as number;
        for (let ch = 0; ch < c; ch++) acc[ch] = (acc[ch] as number) + wt * (x[base + ch] as number);
      }
      const o = (i * w + j) * c;
      for (let ch = 0; ch < c; ch++) out[o + ch] = acc[ch] as number;
    }
  }
  return out;
}

/** Separable Gaussian blur with clamped edges, radius ceil(3 sigma). */
export function gaussianBlur(x: Float32Array, h: number, w: number, c: number, sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k: number[] = [];
  for (let d = -r; d <= r; d++) k.push(Math.exp(-(d * d) / (2 * sigma * sigma)));
  const horizontal = convolve(x, h, w, c, k.map((wt, i) => [0, i - r, wt]));
  return convolve(horizontal, h, w, c, k.map((wt, i) => [i - r, 0, wt]));
}

/** Replaces each cell of a `round(h*factor) x round(w*factor)` grid by its mean (constant blocks). */
export function pixelate(x: Float32Array, h: number, w: number, c: number, factor: number): Float32Array {
  const gh = Math.max(1, Math.round(h * factor));
  const gw = Math.max(1, Math.round(w * factor));
  const sums = new Float64Array(gh * gw * c);
  const counts = new Float64Array(gh * gw);
  const cellOf = (i: number, j: number): number => Math.floor((i * gh) / h) * gw + Math.floor((j * gw) / w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const cell = cellOf(i, j);
      counts[cell] = (counts[cell] as number) + 1;
      for (let ch = 0; ch < c; ch++) sums[cell * c + ch] = (sums[cell * c + ch] as number) + (x[(i * w + j) * c + ch] as number);
    }
  }
  const out = new Float32Array(x.length);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const cell = cellOf(i, j);
      for (let ch = 0; ch < c; ch++) out[(i * w + j) * c + ch] = (sums[cell * c + ch] as number) / (counts[cell] as number);
    }
  }
  return out;
}

const LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100,
  103, 99,
];
const CHROMA = Array.from({ length: 64 }, (_, i) => {
  const u = Math.floor(i / 8);
  const v = i % 8;
  const top = [17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 99, 47, 66, 99, 99];
  return u < 4 && v < 4 ? (top[u * 4 + v] as number) : 99;
});
const DCT = Array.from({ length: 64 }, (_, i) => {
  const u = Math.floor(i / 8);
  const x = i % 8;
  return (u === 0 ? Math.sqrt(1 / 8) : Math.sqrt(2 / 8)) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** The IJG quantisation table for a quality in [1, 100]. */
export function quantisationTable(base: readonly number[], quality: number): number[] {
  const q = Math.min(100, Math.max(1, quality));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  return base.map((t) => Math.min(255, Math.max(1, Math.floor((t * scale + 50) / 100))));
}

/** One plane (values 0..255) through 8x8 DCT, quantisation at `table` and back; edges padded by replication. */
function jpegPlane(plane: Float64Array, h: number, w: number, table: number[]): Float64Array {
  const out = new Float64Array(h * w);
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) block[y * 8 + x] = (plane[Math.min(h - 1, by + y) * w + Math.min(w - 1, bx + x)] as number) - 128;
      // forward: F = C X C^T
      for (let u = 0; u < 8; u++)
        for (let x = 0; x < 8; x++) {
          let s = 0;
          for (let y = 0; y < 8; y++) s += (DCT[u * 8 + y] as number) * (block[y * 8 + x] as number);
          tmp[u * 8 + x] = s;
        }
      for (let u = 0; u < 8; u++)
        for (let v = 0; v < 8; v++) {
          let s = 0;
          for (let x = 0; x < 8; x++) s += (tmp[u * 8 + x] as number) * (DCT[v * 8 + x] as number);
          const q = table[u * 8 + v] as number;
          block[u * 8 + v] = Math.round(s / q) * q;
        }
      // inverse: X = C^T F C
      for (let y = 0; y < 8; y++)
        for (let v = 0; v < 8; v++) {
          let s = 0;
          for (let u = 0; u < 8; u++) s += (DCT[u * 8 + y] as number) * (block[u * 8 + v] as number);
          tmp[y * 8 + v] = s;
        }
      for (let y = 0; y < 8 && by + y < h; y++)
        for (let x = 0; x < 8 && bx + x < w; x++) {
          let s = 0;
          for (let v = 0; v < 8; v++) s += (tmp[y * 8 + v] as number) * (DCT[v * 8 + x] as number);
          out[(by + y) * w + bx + x] = s + 128;
        }
    }
  }
  return out;
}

/**
 * JPEG-style compression round trip at a quality in [1, 100]: 3-channel images go through YCbCr
 * (luma table on Y, chroma table on Cb/Cr, no subsampling); other channel counts use the luma
 * table on each channel. No entropy coding (it is lossless). Input/output in [0, 1].
 */
export function jpegRoundTrip(x: Float32Array, h: number, w: number, c: number, quality: number): Float32Array {
  const n = h * w;
  const luma = quantisationTable(LUMA, quality);
  const chroma = quantisationTable(CHROMA, quality);
  const out = new Float32Array(x.length);
  if (c === 3) {
    const Y = new Float64Array(n);
    const Cb = new Float64Array(n);
    const Cr = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = (x[i * 3] as number) * 255;
      const g = (x[i * 3 + 1] as number) * 255;
      const b = (x[i * 3 + 2] as number) * 255;
      Y[i] = 0.299 * r + 0.587 * g + 0.114 * b;
      Cb[i] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
      Cr[i] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    }
    const y2 = jpegPlane(Y, h, w, luma);
    const cb2 = jpegPlane(Cb, h, w, chroma);
    const cr2 = jpegPlane(Cr, h, w, chroma);
    for (let i = 0; i < n; i++) {
      const yy = y2[i] as number;
      const cb = (cb2[i] as number) - 128;
      const cr = (cr2[i] as number) - 128;
      out[i * 3] = clip01((yy + 1.402 * cr) / 255);
      out[i * 3 + 1] = clip01((yy - 0.344136 * cb - 0.714136 * cr) / 255);
      out[i * 3 + 2] = clip01((yy + 1.772 * cb) / 255);
    }
    return out;
  }
  for (let ch = 0; ch < c; ch++) {
    const plane = new Float64Array(n);
    for (let i = 0; i < n; i++) plane[i] = (x[i * c + ch] as number) * 255;
    const back = jpegPlane(plane, h, w, luma);
    for (let i = 0; i < n; i++) out[i * c + ch] = clip01((back[i] as number) / 255);
  }
  return out;
}

/** A smooth random field in [0, 1]: two octaves of bilinearly upsampled uniform noise. */
function fogMap(h: number, w: number, rng: Rng): Float32Array {
  const out = new Float32Array(h * w);
  let amp = 1;
  let total = 0;
  for (const g of [3, 6]) {
    const grid = Float32Array.from({ length: (g + 1) * (g + 1) }, () => rng.next());
    for (let i = 0; i < h; i++) {
      const gy = (i / Math.max(h - 1, 1)) * g;
      const y0 = Math.min(Math.floor(gy), g - 1);
      const fy = gy - y0;
      for (let j = 0; j < w; j++) {
        const gx = (j / Math.max(w - 1, 1)) * g;
        const x0 = Math.min(Math.floor(gx), g - 1);
        const fx = gx - x0;
        const at = (a: number, b: number): number => grid[a * (g + 1) + b] as number;
        const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        out[i * w + j] = (out[i * w + j] as number) + amp * v;
      }
    }
    total += amp;
    amp /= 2;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / total;
  return out;
}

const OPS: Record<CorruptionName, Op> = {
  'gaussian-noise': (x, _h, _w, _c, p, rng) => x.map((v) => v + rng.normal(0, p)),
  'shot-noise': (x, _h, _w, _c, p, rng) => x.map((v) => poisson(v * p, rng) / p),
  'impulse-noise': (x, _h, _w, _c, p, rng) =>
    x.map((v) => {
      const u = rng.next();
      return u < p / 2 ? 0 : u < p ? 1 : v;
    }),
  'speckle-noise': (x, _h, _w, _c, p, rng) => x.map((v) => v + v * rng.normal(0, p)),
  'gaussian-blur': (x, h, w, c, p) => gaussianBlur(x, h, w, c, p),
  'defocus-blur': (x, h, w, c, p) => {
    const taps: [number, number, number][] = [];
    const r = Math.ceil(p);
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= p * p) taps.push([dy, dx, 1]);
    return convolve(x, h, w, c, taps);
  },
  contrast: (x, _h, _w, _c, p) => {
    let mean = 0;
    for (const v of x) mean += v;
    mean /= Math.max(x.length, 1);
    return x.map((v) => (v - mean) * p + mean);
  },
  brightness: (x, _h, _w, _c, p) => x.map((v) => v + p),
  pixelate: (x, h, w, c, p) => pixelate(x, h, w, c, p),
  jpeg: (x, h, w, c, p) => jpegRoundTrip(x, h, w, c, p),
  fog: (x, h, w, c, p, rng) => {
    const fog = fogMap(h, w, rng);
    let max = 0;
    for (const v of x) max = Math.max(max, v);
    const out = new Float32Array(x.length);
    for (let i = 0; i < h * w; i++)
      for (let ch = 0; ch < c; ch++) {
        const k = i * c + ch;
        out[k] = (((x[k] as number) + p * (fog[i] as number)) * max) / (max + p);
      }
    return out;
  },
};

/**
 * Applies a corruption at a severity to every image of a uint8 HWC batch.
 * @param images `count * h * w * c` uint8 values, row-major HWC per image (not modified).
 * @param shape `[h, w, c]` of one image.
 * @param severity integer 1..5.
 * @param rng source of all random draws (noise, fog); deterministic corruptions ignore it.
 * @returns a new uint8 array of the same length.
 * @throws on an unknown name, a severity outside 1..5 or a length that is not a multiple of h*w*c.
 */
export function corruptImages(
  name: CorruptionName,
  images: Uint8Array,
  shape: readonly [number, number, number],
  severity: number,
  rng: Rng,
): Uint8Array {
  const op = OPS[name];
  if (!op) throw new Error(`corruptImages: unknown corruption '${String(name)}', expected one of ${CORRUPTIONS.join(', ')}`);
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) {
    throw new Error(`corruptImages: severity is ${severity}, expected an integer 1..5`);
  }
  const [h, w, c] = shape;
  const size = h * w * c;
  if (size <= 0 || images.length % size !== 0) {
    throw new Error(`corruptImages: images has ${images.length} values, not a multiple of h*w*c = ${size} (shape [${shape.join(', ')}])`);
  }
  const p = SEVERITY_PARAMS[name][severity - 1] as number;
  const out = new Uint8Array(images.length);
  const img = new Float32Array(size);
  for (let start = 0; start < images.length; start += size) {
    for (let i = 0; i < size; i++) img[i] = (images[start + i] as number) / 255;
    const res = op(img, h, w, c, p, rng);
    for (let i = 0; i < size; i++) out[start + i] = Math.round(clip01(res[i] as number) * 255);
  }
  return out;
}
