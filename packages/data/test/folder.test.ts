import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { createRegistry, createRng } from '@supcon/core';
import { dataPlugin, loadImageFolder } from '../src/index';

function png(file: string, w: number, h: number, rgb: (x: number, y: number) => [number, number, number]) {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) p.data.set([...rgb(x, y), 255], (y * w + x) * 4);
  writeFileSync(file, PNG.sync.write(p));
}

function folder(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'folder-'));
  for (const c of ['cat', 'dog']) mkdirSync(path.join(root, c));
  png(path.join(root, 'cat', 'a.png'), 2, 2, (x, y) => [10 * x, 20 * y, 30]);
  png(path.join(root, 'cat', 'b.png'), 2, 2, () => [255, 0, 0]);
  const data = Buffer.alloc(2 * 2 * 4, 128);
  writeFileSync(path.join(root, 'dog', 'c.jpg'), jpeg.encode({ data, width: 2, height: 2 }, 100).data);
  return root;
}

describe('image folders (files the test writes)', () => {
  it('decodes PNG exactly and JPEG closely, labels from sorted folder names', () => {
    const ds = loadImageFolder({ root: folder() });
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.shape).toEqual([2, 2, 3]);
    expect([...ds.labels]).toEqual([0, 0, 1]);
    expect([...ds.images.subarray(0, 12)]).toEqual([0, 0, 30, 10, 0, 30, 0, 20, 30, 10, 20, 30]);
    for (const v of ds.images.subarray(24, 36)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(3);
  });

  it('converts to one channel and resizes by nearest neighbour', () => {
    const ds = loadImageFolder({ root: folder(), channels: 1, size: [4, 4] });
    expect(ds.shape).toEqual([4, 4, 1]);
    expect(ds.images[16]).toBe(Math.round(0.299 * 255)); // b.png is pure red
  });

  it('names the folder or file for bad input', () => {
    const root = folder();
    png(path.join(root, 'dog', 'big.png'), 3, 3, () => [0, 0, 0]);
    expect(() => loadImageFolder({ root })).toThrow(/big\.png: 3x3 differs from the first image's 2x2: pass size/);
    mkdirSync(path.join(root, 'empty'));
    expect(() => loadImageFolder({ root, size: [2, 2] })).toThrow(/empty: empty class folder/);
    const bad = mkdtempSync(path.join(tmpdir(), 'folder-'));
    mkdirSync(path.join(bad, 'x'));
    writeFileSync(path.join(bad, 'x', 'broken.png'), 'not a png');
    expect(() => loadImageFolder({ root: bad })).toThrow(/broken\.png: cannot decode image/);
    expect(() => loadImageFolder({ root: mkdtempSync(path.join(tmpdir(), 'folder-')) })).toThrow(/no class folders/);
  });

  it('the image-folder dataset splits a seeded stratified 20% for test', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'folder-'));
    for (const c of ['a', 'b']) {
      mkdirSync(path.join(root, c));
      for (let i = 0; i < 10; i++) png(path.join(root, c, `${i}.png`), 1, 1, () => [i, c === 'a' ? 0 : 255, 0]);
    }
    const part = await createRegistry([dataPlugin]).build('dataset', { type: 'image-folder', root }, { rng: createRng(0) });
    const [train, test] = [await part.load('train'), await part.load('test')];
    expect([train.size, test.size]).toEqual([16, 4]);
    expect([...test.labels].sort()).toEqual([0, 0, 1, 1]);
  });
});
