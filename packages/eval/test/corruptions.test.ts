import { createRng } from '@supcon/core';
import { CORRUPTIONS, corruptImages, jpegRoundTrip, pixelate, SEVERITY_PARAMS, type CorruptionName } from '../src';

const H = 32;
const W = 32;
const constant = (v: number, c: number, n = 1): Uint8Array => new Uint8Array(n * H * W * c).fill(v);
/** A smooth textured image: sums of sinusoids per channel, in [30, 225]. */
function textured(c: number, n = 2): Uint8Array {
  const out = new Uint8Array(n * H * W * c);
  for (let k = 0; k < n; k++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let ch = 0; ch < c; ch++)
          out[((k * H + i) * W + j) * c + ch] = Math.round(
            127 + 50 * Math.sin((i + 3 * ch + k) / 3) + 45 * Math.cos((j * (ch + 1)) / 5),
          );
  return out;
}
const stats = (a: Uint8Array): { mean: number; std: number } => {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return { mean: m, std: Math.sqrt(s / a.length) };
};
const meanAbsDiff = (a: Uint8Array, b: Uint8Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
};
const run = (name: CorruptionName, img: Uint8Array, c: number, sev: number, seed = 0): Uint8Array =>
  corruptImages(name, img, [H, W, c], sev, createRng(seed));

describe('corruptions', () => {
  it('gaussian noise: zero mean, std = sigma * 255', () => {
    const img = constant(128, 1, 8);
    const out = run('gaussian-noise', img, 1, 1);
    const d = Array.from(out, (v, i) => v - (img[i] as number));
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
    expect(Math.abs(mean)).toBeLessThan(0.3);
    expect(std).toBeGreaterThan(0.04 * 255 * 0.95);
    expect(std).toBeLessThan(0.04 * 255 * 1.05);
  });

  it('shot noise: mean kept, variance = x / lambda (Poisson)', () => {
    const img = constant(128, 3, 4);
    const { mean, std } = stats(run('shot-noise', img, 3, 1));
    expect(Math.abs(mean - 128)).toBeLessThan(0.5);
    const expected = Math.sqrt(128 / 255 / 500) * 255;
    expect(std / expected).toBeGreaterThan(0.93);
    expect(std / expected).toBeLessThan(1.07);
  });

  it('impulse noise: about p of the values become 0 or 255', () => {
    const img = constant(100, 1, 16);
    const out = run('impulse-noise', img, 1, 5);
    const changed = out.filter((v) => v !== 100);
    expect(changed.every((v) => v === 0 || v === 255)).toBe(true);
    expect(changed.length / out.length).toBeGreaterThan(0.06);
    expect(changed.length / out.length).toBeLessThan(0.08);
  });

  it('brightness raises the mean by the severity parameter', () => {
    const img = constant(60, 1);
    expect(stats(run('brightness', img, 1, 1)).mean).toBe(Math.round(60 + 0.1 * 255)); // every pixel, rounded
  });

  it('contrast shrinks the spread by its factor and keeps the mean', () => {
    const img = textured(1);
    const a = stats(img);
    const b = stats(run('contrast', img, 1, 2)); // factor 0.5
    expect(b.std / a.std).toBeGreaterThan(0.48);
    expect(b.std / a.std).toBeLessThan(0.52);
    expect(Math.abs(b.mean - a.mean)).toBeLessThan(1);
  });

  it('pixelate makes constant blocks equal to the block means', () => {
    const x = Float32Array.from({ length: 16 }, (_, i) => i / 16);
    const out = pixelate(x, 4, 4, 1, 0.5);
    // block (0,0) holds pixels 0,1,4,5
    const m = (0 + 1 + 4 + 5) / 4 / 16;
    [0, 1, 4, 5].forEach((i) => expect(out[i]).toBeCloseTo(m, 6));
    [10, 11, 14, 15].forEach((i) => expect(out[i]).toBeCloseTo((10 + 11 + 14 + 15) / 4 / 16, 6));
  });

  it('blurs keep a constant image and reduce the spread of a textured one', () => {
    for (const name of ['gaussian-blur', 'defocus-blur'] as const) {
      const flat = constant(90, 3);
      expect(Array.from(run(name, flat, 3, 3)).every((v) => v === 90)).toBe(true);
      const img = textured(3);
      expect(stats(run(name, img, 3, 5)).std).toBeLessThan(stats(img).std);
    }
  });

  it('JPEG round trip: quality 100 near exact, high quality close, 1 and 3 channels', () => {
    for (const c of [1, 3]) {
      const img = textured(c, 1);
      const x = Float32Array.from(img, (v) => v / 255);
      const q100 = jpegRoundTrip(x, H, W, c, 100);
      const q95 = jpegRoundTrip(x, H, W, c, 95);
      const err = (y: Float32Array): number => y.reduce((a, v, i) => a + Math.abs(v * 255 - (img[i] as number)), 0) / y.length;
      expect(err(q100)).toBeLessThan(1);
      expect(err(q95)).toBeLessThan(3);
      expect(err(jpegRoundTrip(x, H, W, c, 10))).toBeGreaterThan(err(q95));
    }
  });

  it('every corruption distorts more as severity grows (1 and 3 channels)', () => {
    for (const c of [1, 3]) {
      const img = textured(c);
      for (const name of CORRUPTIONS) {
        const d = [1, 2, 3, 4, 5].map((s) => meanAbsDiff(run(name, img, c, s, 9), img));
        for (let s = 1; s < 5; s++) expect({ name, c, s, ok: (d[s] as number) >= (d[s - 1] as number) - 0.05 }).toEqual({ name, c, s, ok: true });
        expect({ name, c, grows: (d[4] as number) > (d[0] as number) }).toEqual({ name, c, grows: true });
      }
    }
  });

  it('is deterministic under the seed; different seeds give different noise', () => {
    const img = textured(1);
    for (const name of CORRUPTIONS) expect(run(name, img, 1, 3, 4)).toEqual(run(name, img, 1, 3, 4));
    expect(run('gaussian-noise', img, 1, 3, 4)).not.toEqual(run('gaussian-noise', img, 1, 3, 5));
    expect(run('fog', img, 1, 3, 4)).not.toEqual(run('fog', img, 1, 3, 5));
  });

  it('has 5 severities each and validates inputs', () => {
    for (const name of CORRUPTIONS) expect(SEVERITY_PARAMS[name]).toHaveLength(5);
    expect(() => run('fog', textured(1), 1, 6)).toThrow(/severity is 6/);
    expect(() => corruptImages('fog', new Uint8Array(10), [H, W, 1], 1, createRng(0))).toThrow(/images has 10 values/);
  });
});
