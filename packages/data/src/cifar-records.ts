/**
 * CIFAR-10 and CIFAR-100 "binary version" records without files. A record is the label byte(s)
 * then 3072 bytes of a 32x32 image stored channel-major (1024 red, 1024 green, 1024 blue),
 * converted here to HWC. CIFAR-10: data_batch_1..5.bin (train), test_batch.bin, 1 label byte,
 * batches.meta.txt. CIFAR-100: train.bin, test.bin, 2 label bytes (coarse, fine),
 * fine_label_names.txt / coarse_label_names.txt.
 */
import type { ImageDataset } from '@supcon/core';
import type { Split } from './mnist-format';

const PIXELS = 32 * 32;

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The binary batches of a split. */
export function cifarFiles(name: 'cifar10' | 'cifar100', split: Split): string[] {
  if (name === 'cifar100') return [split === 'train' ? 'train.bin' : 'test.bin'];
  return split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
}

/** The file with the class names, one a line. */
export function cifarClassNamesFile(name: 'cifar10' | 'cifar100', labels: 'fine' | 'coarse' = 'fine'): string {
  if (name === 'cifar10') return 'batches.meta.txt';
  return labels === 'fine' ? 'fine_label_names.txt' : 'coarse_label_names.txt';
}

/** The non-empty lines of a class-names file. */
export function classNameLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** CIFAR-100's class names: `names` when it has the right count, else '0', '1', .... */
export function cifar100Classes(names: string[] | undefined, labels: 'fine' | 'coarse'): string[] {
  const count = labels === 'fine' ? 100 : 20;
  return names && names.length === count ? names : Array.from({ length: count }, (_, i) => String(i));
}

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

/** One dataset from the parsed batches of a split, labels checked against `classes`; `files` names them in errors. */
export function cifarDataset(parts: { images: Uint8Array; labels: Uint8Array }[], files: string[], classes: string[]): ImageDataset {
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
