import { cacheDir, fashionMnistSamplePath } from '@supcon/data';
import path from 'node:path';

/** Dataset folders `supcon doctor` reports. */
export function datasetLocations(): Record<string, string | undefined> {
  return {
    'fashion-mnist (Debian)': '/usr/share/datasets/fashion-mnist',
    'fashion-mnist (cache)': path.join(cacheDir(), 'fashion-mnist'),
    'mnist (Debian)': '/usr/share/datasets/mnist',
    'mnist (cache)': path.join(cacheDir(), 'mnist'),
    'cifar10 (cache)': path.join(cacheDir(), 'cifar10', 'cifar-10-batches-bin'),
    'cifar100 (cache)': path.join(cacheDir(), 'cifar100', 'cifar-100-binary'),
    'fashion-mnist sample': fashionMnistSamplePath(),
  };
}
