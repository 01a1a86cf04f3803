import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import '@tensorflow/tfjs-backend-cpu';
import { createRegistry, createRng } from '@supcon/core';
import { batchToTensor, dataPlugin, isMultiLabel, loadMultiLabelFolder, multiHotBatch, multiHotRows, parseMultiLabelCsv, subset } from '../src/index';
import type { MultiLabelImageDataset } from '../src/index';

function png(file: string, w: number, h: number, rgb: [number, number, number]) {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([...rgb, 255], i * 4);
  writeFileSync(file, PNG.sync.write(p));
}

// Written by hand: classes sorted are [beach, dog, person, sky] (indices 0..3).
const CSV = ['file,labels', 'a.png,dog;person', 'img/b.png,sky | beach', '', 'c.png,person', 'd.png,"beach;dog;sky"', ''].join('\n');
const ROWS = [
  [0, 1, 1, 0], // a: dog, person
  [1, 0, 0, 1], // b: sky, beach
  [0, 0, 1, 0], // c: person
  [1, 1, 0, 1], // d: beach, dog, sky
];
const FIRST = [1, 3, 2, 0]; // the first listed label of each row

function folder(csv = CSV): string {
  const root = mkdtempSync(path.join(tmpdir(), 'multi-'));
  mkdirSync(path.join(root, 'img'));
  png(path.join(root, 'a.png'), 2, 2, [10, 20, 30]);
  png(path.join(root, 'img', 'b.png'), 2, 2, [40, 50, 60]);
  png(path.join(root, 'c.png'), 2, 2, [70, 80, 90]);
  png(path.join(root, 'd.png'), 2, 2, [100, 110, 120]);
  writeFileSync(path.join(root, 'labels.csv'), csv);
  return root;
}

const rows = (ds: MultiLabelImageDataset) => Array.from({ length: ds.size }, (_, i) => [...ds.multiLabels.subarray(i * ds.classes.length, (i + 1) * ds.classes.length)]);

describe('multi-label folders (files the test writes)', () => {
  it('reads classes sorted, multi-hot rows, the first-label projection and the pixels in CSV order', () => {
    const ds = loadMultiLabelFolder({ root: folder() });
    expect(ds.classes).toEqual(['beach', 'dog', 'person', 'sky']);
    expect(ds.size).toBe(4);
    expect(ds.shape).toEqual([2, 2, 3]);
    expect(rows(ds)).toEqual(ROWS);
    expect([...ds.labels]).toEqual(FIRST);
    expect([...ds.images.subarray(0, 3)]).toEqual([10, 20, 30]);
    expect([...ds.images.subarray(12, 15)]).toEqual([40, 50, 60]);
    expect(isMultiLabel(ds)).toBe(true);
    // Stable: the same classes whatever the row order.
    const shuffled = ['file,labels', 'd.png,beach;dog;sky', 'c.png,person', 'img/b.png,sky|beach', 'a.png,dog;person'].join('\n');
    expect(loadMultiLabelFolder({ root: folder(shuffled) }).classes).toEqual(['beach', 'dog', 'person', 'sky']);
  });

  it('takes given classes in their order, another CSV name, one channel and a resize', () => {
    const root = folder();
    writeFileSync(path.join(root, 'tags.csv'), 'file,labels\nc.png,person\na.png,person;dog\n');
    const ds = loadMultiLabelFolder({ root, labels: 'tags.csv', classes: ['person', 'dog', 'cat'], channels: 1, size: [3, 3] });
    expect(ds.classes).toEqual(['person', 'dog', 'cat']);
    expect(rows(ds)).toEqual([
      [1, 0, 0],
      [1, 1, 0],
    ]);
    expect([...ds.labels]).toEqual([0, 0]);
    expect(ds.shape).toEqual([3, 3, 1]);
    expect(ds.images[0]).toBe(Math.round(0.299 * 70 + 0.587 * 80 + 0.114 * 90));
  });

  it('a batch gives the multi-hot rows as float32 [B, C] and subset keeps them', () => {
    const ds = loadMultiLabelFolder({ root: folder() });
    const t = multiHotBatch(ds, [3, 0, 2]);
    expect(t.shape).toEqual([3, 4]);
    expect(t.dtype).toBe('float32');
    expect(t.arraySync()).toEqual([ROWS[3], ROWS[0], ROWS[2]]);
    const sub = subset(ds, [1, 3]);
    expect(rows(sub)).toEqual([ROWS[1], ROWS[3]]);
    expect([...sub.labels]).toEqual([FIRST[1], FIRST[3]]);
    expect((multiHotBatch(sub, [1]).arraySync() as number[][])[0]).toEqual(ROWS[3]);
    // A single-label dataset gives one-hot rows; batchToTensor still gives the projection.
    const single = { size: 2, shape: [1, 1, 1] as [number, number, number], images: new Uint8Array(2), labels: Int32Array.from([2, 0]), classes: ['a', 'b', 'c'] };
    expect(multiHotBatch(single, [0, 1]).arraySync()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
    expect(batchToTensor(ds, [0, 1]).labels.arraySync()).toEqual([FIRST[0], FIRST[1]]);
    expect(() => multiHotBatch(ds, [4])).toThrow(/index 4 is outside the dataset \(size 4\)/);
    // The same rows as 0/1 bytes, for label sets kept outside tensors.
    const bytes = multiHotRows(ds, [3, 0, 2]);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes)).toEqual([...ROWS[3]!, ...ROWS[0]!, ...ROWS[2]!]);
    expect(Array.from(multiHotRows(single, [1, 0]))).toEqual([1, 0, 0, 0, 0, 1]);
    expect(() => multiHotRows(ds, [-1])).toThrow('multiHotRows: index -1 is outside the dataset (size 4)');
  });

  it('names the file, line and column of each error', () => {
    const root = folder();
    const csv = path.join(root, 'labels.csv');
    const write = (text: string) => {
      writeFileSync(csv, text);
      return () => loadMultiLabelFolder({ root });
    };
    expect(() => loadMultiLabelFolder({ root, labels: 'nope.csv' })).toThrow(`${path.join(root, 'nope.csv')}: labels CSV not found`);
    expect(write('file,tags\na.png,dog\n')).toThrow(`${csv}:1:6: header 'file,tags': expected 'file,labels'`);
    expect(write('file\na.png\n')).toThrow(`${csv}:1:1: header 'file': expected 'file,labels'`);
    expect(write('file,labels\na.png,dog\nmissing.png,dog\n')).toThrow(`${csv}:3:1: file 'missing.png' does not exist`);
    expect(write('file,labels\nnotes.txt,dog\n')).toThrow(`${csv}:2:1: 'notes.txt' is not a .png, .jpg or .jpeg file`);
    expect(write('file,labels\na.png,dog\nc.png,sky\n./a.png,person\n')).toThrow(`${csv}:4:1: duplicate row for file './a.png' (first listed on line 2)`);
    expect(write('file,labels\na.png,dog;;sky\n')).toThrow(`${csv}:2:11: empty label in 'dog;;sky'`);
    expect(write('file,labels\na.png,\n')).toThrow(`${csv}:2:7: no labels for 'a.png'`);
    expect(write('file,labels\na.png,dog;dog\n')).toThrow(`${csv}:2:11: label 'dog' listed twice`);
    expect(write('file,labels\na.png,dog,sky\n')).toThrow(`${csv}:2:11: expected 2 fields (file,labels), found 3`);
    expect(write('file,labels\n')).toThrow(`${csv}:1:1: no rows after the header`);
    expect(write('')).toThrow(`${csv}:1:1: empty CSV`);
    writeFileSync(csv, 'file,labels\na.png,dog\nc.png,person;cat\n');
    expect(() => loadMultiLabelFolder({ root, classes: ['dog', 'person'] })).toThrow(`${csv}:3:14: unknown label 'cat' (classes: dog, person)`);
    expect(() => parseMultiLabelCsv('file,labels\na.png,"dog\n', { file: 'x.csv' })).toThrow('x.csv:2:7: unterminated quoted field');
    expect(() => loadMultiLabelFolder({ root: path.join(root, 'none') })).toThrow(/root: .* is not a folder/);
  });

  it('the multi-label-folder dataset splits a seeded stratified 20% and keeps multi-hot rows', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'multi-'));
    const lines = ['file,labels'];
    for (let i = 0; i < 20; i++) {
      png(path.join(root, `${i}.png`), 1, 1, [i, 0, 0]);
      lines.push(`${i}.png,${i % 2 ? 'b' : 'a'}${i % 3 ? '' : ';c'}`);
    }
    writeFileSync(path.join(root, 'labels.csv'), lines.join('\n'));
    const registry = createRegistry([dataPlugin]);
    const part = await registry.build('dataset', { type: 'multi-label-folder', root }, { rng: createRng(0) });
    const [train, test] = [(await part.load('train')) as MultiLabelImageDataset, (await part.load('test')) as MultiLabelImageDataset];
    expect([train.size, test.size]).toEqual([16, 4]);
    expect(train.classes).toEqual(['a', 'b', 'c']);
    for (const ds of [train, test])
      rows(ds).forEach((row, j) => {
        const i = ds.images[j * 3]; // the red channel is the image's number
        expect(row).toEqual([i % 2 ? 0 : 1, i % 2 ? 1 : 0, i % 3 ? 0 : 1]);
      });
    // testLabels: the test CSV takes the training CSV's classes.
    writeFileSync(path.join(root, 'train.csv'), 'file,labels\n0.png,a;c\n1.png,b\n');
    writeFileSync(path.join(root, 'test.csv'), 'file,labels\n2.png,c\n');
    const split = await registry.build('dataset', { type: 'multi-label-folder', root, labels: 'train.csv', testLabels: 'test.csv' }, { rng: createRng(0) });
    const t = (await split.load('test')) as MultiLabelImageDataset;
    expect(t.classes).toEqual(['a', 'b', 'c']);
    expect(rows(t)).toEqual([[0, 0, 1]]);
  });
});
