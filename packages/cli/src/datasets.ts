import { cacheDir, fashionMnistSamplePath } from '@supcon/data';
import path from 'node:path';

/** Dataset folders `supcon doctor` reports. */
export function datasetLocations(): Record<string, string | undefined> {
  return {
    'fashion-mnist (Debian)': '/usr/share/datasets/fashion-mnist',
    'fashion-mnist (cache)': path.join(cacheDir(), 'fashion-mnist'),
    'mnist (Debian)': '/usr/share/datasets/mnist',
    'fashion-mnist sample': fashionMnistSamplePath(),
  };
}
