/**
 * CIFAR-10 and CIFAR-100 "binary version" loaders in Node: locating the batches on disk (or
 * downloading them) and reading them. The record format is in cifar-records.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageDataset } from '@supcon/core';
import { DATASET_SOURCES } from './catalog';
import { CIFAR10_CLASSES, cifar100Classes, cifarClassNamesFile, cifarDataset, cifarFiles, classNameLines, parseCifarRecords } from './cifar-records';
import { cacheDir, obtainDataset } from './fetch';
import type { DownloadSettings } from './fetch';
import type { Split } from './mnist-format';

async function readLines(file: string): Promise<string[] | undefined> {
  if (!existsSync(file)) return undefined;
  return classNameLines(await readFile(file, 'utf8'));
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
  return cifarDataset(parts, files, classes);
}

/**
 * CIFAR-10 (50000 train / 10000 test, 32x32x3) from the binary batches in `root` (or the cache /
 * /usr/share/datasets/cifar10); `download` fetches and unpacks it into the cache when missing.
 */
export async function loadCifar10(options: CifarLoadOptions): Promise<ImageDataset> {
  const root = await locate('cifar10', 'test_batch.bin', options);
  const files = cifarFiles('cifar10', options.split).map((f) => path.join(root, f));
  for (const f of files) if (!existsSync(f)) throw new Error(`${root}: missing ${path.basename(f)} for the ${options.split} split`);
  const classes = (await readLines(path.join(root, cifarClassNamesFile('cifar10')))) ?? CIFAR10_CLASSES;
  return load(files, 1, 0, classes);
}

/**
 * CIFAR-100 from train.bin / test.bin; `labels: 'fine'` (100 classes, default) or 'coarse' (20
 * superclasses); `download` fetches and unpacks it into the cache when missing.
 */
export async function loadCifar100(options: CifarLoadOptions & { labels?: 'fine' | 'coarse' }): Promise<ImageDataset> {
  const root = await locate('cifar100', 'test.bin', options);
  const kind = options.labels ?? 'fine';
  const file = path.join(root, cifarFiles('cifar100', options.split)[0]);
  if (!existsSync(file)) throw new Error(`${root}: missing ${path.basename(file)} for the ${options.split} split`);
  const names = await readLines(path.join(root, cifarClassNamesFile('cifar100', kind)));
  return load([file], 2, kind === 'fine' ? 1 : 0, cifar100Classes(names, kind));
}
