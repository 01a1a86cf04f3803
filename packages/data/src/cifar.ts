/**
 * CIFAR-10 and CIFAR-100 "binary version" readers. A record is the label byte(s) then 3072 bytes
 * of a 32x32 image stored channel-major (1024 red, 1024 green, 1024 blue), converted here to HWC.
 * CIFAR-10: data_batch_1..5.bin (train), test_batch.bin, 1 label byte, batches.meta.txt.
 * CIFAR-100: train.bin, test.bin, 2 label bytes (coarse, fine), fine_label_names.txt.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageDataset } from '@supcon/core';
import { DATASET_SOURCES } from './catalog';
import { cacheDir, obtainDataset } from './fetch';
import type { DownloadSettings } from './fetch';
import type { Split } from './mnist';

const PIXELS = 32 * 32;

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Parses CIFAR binary records into HWC uint8 images; `labelBytes` 1 (CIFAR-10) or 2 (CIFAR-100), `labelIndex` which to keep. */
export function parseCifarRecords(buffer: Uint8Array, file: string, labelBytes: 1 | 2, labelIndex = labelBytes - 1): { images: Uint8Array; labels: Uint8Array } {
  const record = labelBytes + 3 * PIXELS;
  if (buffer.length === 0 || buffer.length % record !== 0) {
    throw new Error(`${file}: truncated or not a CIFAR binary batch: ${buffer.length} bytes is not a multiple of the ${record}-byte record`);
  }
  const n = buffer.length / record;
  const images = new Uint8Array(n * 3 * PIXELS);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * record;
    labels[i] = buffer[base + labelIndex];
    const src = base + labelBytes;
    const out = i * 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      images[out + 3 * p] = buffer[src + p];
      images[out + 3 * p + 1] = buffer[src + PIXELS + p];
      images[out + 3 * p + 2] = buffer[src + 2 * PIXELS + p];
    }
  }
  return { images, labels };
}

async function readLines(file: string): Promise<string[] | undefined> {
  if (!existsSync(file)) return undefined;
  return (await readFile(file, 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean);
}

export interface CifarLoadOptions extends DownloadSettings {
  /** Folder with the .bin files, or one holding the archive's folder (never downloads); default: the cache, then `/usr/share/datasets/<name>`. */
  root?: string;
  split: Split;
}

/**
 * The folder holding `probe`: in `root` or its archive folder (`cifar-10-batches-bin`,
 * `cifar-100-binary`), else in the cache or `/usr/share/datasets/<name>` (or their archive
 * folder, where `ensureDataset` unpacks), else what `download` allows (see `obtainDataset`).
 */
async function locate(name: 'cifar10' | 'cifar100', probe: string, options: CifarLoadOptions): Promise<string> {
  const { root } = options;
  const folder = options.source?.unpack?.folder ?? DATASET_SOURCES[name].unpack?.folder ?? '';
  const bases = root ? [root] : [path.join(cacheDir(), name), path.join('/usr/share/datasets', name)];
  const found = bases.flatMap((dir) => [path.join(dir, folder), dir]).find((dir) => existsSync(path.join(dir, probe)));
  if (found) return found;
  if (root) {
    throw new Error(`root: ${root} holds no ${probe} (expected the CIFAR binary version: ${name === 'cifar10' ? 'data_batch_1.bin ... test_batch.bin' : 'train.bin, test.bin'})`);
  }
  return obtainDataset(name, bases, options, `download the binary version of the dataset and pass root: '/path/to/${folder}', or unpack it into ${bases[0]}`);
}

async function load(files: string[], labelBytes: 1 | 2, labelIndex: number, classes: string[]): Promise<ImageDataset> {
  const parts = await Promise.all(files.map(async (f) => parseCifarRecords(new Uint8Array(await readFile(f)), f, labelBytes, labelIndex)));
  const size = parts.reduce((s, p) => s + p.labels.length, 0);
  const images = new Uint8Array(size * 3 * PIXELS);
  const labels = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    images.set(p.images, offset * 3 * PIXELS);
    labels.set(p.labels, offset);
    offset += p.labels.length;
  }
  for (let i = 0; i < size; i++) if (labels[i] >= classes.length) throw new Error(`${files.join(', ')}: label ${labels[i]} at record ${i} is outside 0..${classes.length - 1}`);
  return { size, shape: [32, 32, 3], images, labels, classes };
}

/**
 * CIFAR-10 (50000 train / 10000 test, 32x32x3) from the binary batches in `root` (or the cache /
 * /usr/share/datasets/cifar10); `download` fetches and unpacks it into the cache when missing.
 */
export async function loadCifar10(options: CifarLoadOptions): Promise<ImageDataset> {
  const root = await locate('cifar10', 'test_batch.bin', options);
  const files = options.split === 'train' ? [1, 2, 3, 4, 5].map((i) => path.join(root, `data_batch_${i}.bin`)) : [path.join(root, 'test_batch.bin')];
  for (const f of files) if (!existsSync(f)) throw new Error(`${root}: missing ${path.basename(f)} for the ${options.split} split`);
  const classes = (await readLines(path.join(root, 'batches.meta.txt'))) ?? CIFAR10_CLASSES;
  return load(files, 1, 0, classes);
}

/**
 * CIFAR-100 from train.bin / test.bin; `labels: 'fine'` (100 classes, default) or 'coarse' (20
 * superclasses); `download` fetches and unpacks it into the cache when missing.
 */
export async function loadCifar100(options: CifarLoadOptions & { labels?: 'fine' | 'coarse' }): Promise<ImageDataset> {
  const root = await locate('cifar100', 'test.bin', options);
  const kind = options.labels ?? 'fine';
  const file = path.join(root, options.split === 'train' ? 'train.bin' : 'test.bin');
  if (!existsSync(file)) throw new Error(`${root}: missing ${path.basename(file)} for the ${options.split} split`);
  const names = await readLines(path.join(root, kind === 'fine' ? 'fine_label_names.txt' : 'coarse_label_names.txt'));
  const count = kind === 'fine' ? 100 : 20;
  const classes = names && names.length === count ? names : Array.from({ length: count }, (_, i) => String(i));
  return load([file], 2, kind === 'fine' ? 1 : 0, classes);
}
