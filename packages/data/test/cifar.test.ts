import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadCifar10, loadCifar100, parseCifarRecords } from '../src/index';

/** A CIFAR record: label byte(s), then R, G, B planes of 32x32; pixel (y, x) of channel c = (c*50 + y + x + seed) % 256. */
function record(labels: number[], seed: number): Uint8Array {
  const r = new Uint8Array(labels.length + 3072);
  r.set(labels);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) r[labels.length + c * 1024 + y * 32 + x] = (c * 50 + y + x + seed) % 256;
  return r;
}
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

describe('CIFAR binary readers (files the test writes)', () => {
  it('converts channel-major records to HWC', () => {
    const { images, labels } = parseCifarRecords(record([7], 3), 'x.bin', 1);
    expect([...labels]).toEqual([7]);
    // pixel (y=2, x=5): R = 2+5+3 = 10, G = 60, B = 110
    const p = (2 * 32 + 5) * 3;
    expect([...images.subarray(p, p + 3)]).toEqual([10, 60, 110]);
  });

  it('CIFAR-10: five train batches and the test batch, class names from batches.meta.txt', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cifar10-'));
    for (let b = 1; b <= 5; b++) writeFileSync(path.join(root, `data_batch_${b}.bin`), concat([record([b], b), record([0], 0)]));
    writeFileSync(path.join(root, 'test_batch.bin'), record([9], 1));
    writeFileSync(path.join(root, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    const train = await loadCifar10({ root, split: 'train' });
    expect(train.size).toBe(10);
    expect(train.shape).toEqual([32, 32, 3]);
    expect([...train.labels]).toEqual([1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
    const test = await loadCifar10({ root, split: 'test' });
    expect(test.classes[test.labels[0]]).toBe('truck');
  });

  it('CIFAR-100: fine or coarse labels', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cifar100-'));
    writeFileSync(path.join(root, 'train.bin'), concat([record([3, 42], 0), record([19, 99], 1)]));
    writeFileSync(path.join(root, 'test.bin'), record([0, 5], 2));
    expect([...(await loadCifar100({ root, split: 'train' })).labels]).toEqual([42, 99]);
    const coarse = await loadCifar100({ root, split: 'train', labels: 'coarse' });
    expect([...coarse.labels]).toEqual([3, 19]);
    expect(coarse.classes).toHaveLength(20);
  });

  it('names the file for truncated data and missing batches', async () => {
    expect(() => parseCifarRecords(new Uint8Array(3000), 'short.bin', 1)).toThrow('short.bin: truncated or not a CIFAR binary batch: 3000 bytes is not a multiple of the 3073-byte record');
    const root = mkdtempSync(path.join(tmpdir(), 'cifar10-'));
    writeFileSync(path.join(root, 'test_batch.bin'), record([1], 0));
    await expect(loadCifar10({ root, split: 'train' })).rejects.toThrow(/missing data_batch_1\.bin for the train split/);
    await expect(loadCifar10({ root: path.join(root, 'nope'), split: 'test' })).rejects.toThrow(/holds no test_batch\.bin/);
  });
});
