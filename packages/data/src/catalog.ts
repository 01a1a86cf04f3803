/**
 * Where the datasets come from: the official files, their sizes and SHA-256 (as in TensorFlow
 * Datasets' url_checksums; the Fashion-MNIST MD5s are those of Zalando's README), and how a mirror
 * rewrites their addresses. Pure data and string work: nothing here touches the network or disk.
 */

/** Datasets `ensureDataset` and `supcon download` know. */
export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10' | 'cifar100';

/** One file to download. */
export interface SourceFile {
  /** File name in the dataset's cache folder. */
  name: string;
  url: string;
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the whole file, lower-case hex. */
  sha256: string;
  /** MD5 as published upstream, for reference only (not checked). */
  md5?: string;
}

/** Where a dataset comes from; pass your own to `ensureDataset` or a loader as `source`. */
export interface DatasetSource {
  /** Display name, e.g. `Fashion-MNIST`. */
  title: string;
  files: readonly SourceFile[];
  /**
   * For a tar.gz archive (CIFAR): the folder it unpacks to and the files that folder must hold.
   * The archive is `files[0]`.
   */
  unpack?: { folder: string; contents: readonly string[] };
  homepage?: string;
}

const FASHION_MNIST_BASE = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
const MNIST_BASE = 'https://storage.googleapis.com/cvdf-datasets/mnist/';
const CIFAR_BASE = 'https://www.cs.toronto.edu/~kriz/';

/** The official sources of the datasets the loaders can download. */
export const DATASET_SOURCES: Readonly<Record<DatasetName, DatasetSource>> = {
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    homepage: 'https://github.com/zalandoresearch/fashion-mnist',
    files: [
      {
        name: 'train-images-idx3-ubyte.gz',
        url: `${FASHION_MNIST_BASE}train-images-idx3-ubyte.gz`,
        bytes: 26421880,
        sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
        md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      },
      {
        name: 'train-labels-idx1-ubyte.gz',
        url: `${FASHION_MNIST_BASE}train-labels-idx1-ubyte.gz`,
        bytes: 29515,
        sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
        md5: '25c81989df183df01b3e8a0aad5dffbe',
      },
      {
        name: 't10k-images-idx3-ubyte.gz',
        url: `${FASHION_MNIST_BASE}t10k-images-idx3-ubyte.gz`,
        bytes: 4422102,
        sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
        md5: 'bef4ecab320f06d8554ea6380940ec79',
      },
      {
        name: 't10k-labels-idx1-ubyte.gz',
        url: `${FASHION_MNIST_BASE}t10k-labels-idx1-ubyte.gz`,
        bytes: 5148,
        sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
        md5: 'bb300cfdad3c16e7a12a480ee83cd310',
      },
    ],
  },
  mnist: {
    title: 'MNIST',
    homepage: 'http://yann.lecun.com/exdb/mnist/',
    files: [
      {
        name: 'train-images-idx3-ubyte.gz',
        url: `${MNIST_BASE}train-images-idx3-ubyte.gz`,
        bytes: 9912422,
        sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
      },
      {
        name: 'train-labels-idx1-ubyte.gz',
        url: `${MNIST_BASE}train-labels-idx1-ubyte.gz`,
        bytes: 28881,
        sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
      },
      {
        name: 't10k-images-idx3-ubyte.gz',
        url: `${MNIST_BASE}t10k-images-idx3-ubyte.gz`,
        bytes: 1648877,
        sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
      },
      {
        name: 't10k-labels-idx1-ubyte.gz',
        url: `${MNIST_BASE}t10k-labels-idx1-ubyte.gz`,
        bytes: 4542,
        sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
      },
    ],
  },
  cifar10: {
    title: 'CIFAR-10',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    files: [
      {
        name: 'cifar-10-binary.tar.gz',
        url: `${CIFAR_BASE}cifar-10-binary.tar.gz`,
        bytes: 170052171,
        sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
      },
    ],
    unpack: {
      folder: 'cifar-10-batches-bin',
      contents: [
        'data_batch_1.bin',
        'data_batch_2.bin',
        'data_batch_3.bin',
        'data_batch_4.bin',
        'data_batch_5.bin',
        'test_batch.bin',
        'batches.meta.txt',
      ],
    },
  },
  cifar100: {
    title: 'CIFAR-100',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    files: [
      {
        name: 'cifar-100-binary.tar.gz',
        url: `${CIFAR_BASE}cifar-100-binary.tar.gz`,
        bytes: 168513733,
        sha256: '58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec',
      },
    ],
    unpack: {
      folder: 'cifar-100-binary',
      contents: ['train.bin', 'test.bin', 'fine_label_names.txt', 'coarse_label_names.txt'],
    },
  },
};

/** Environment variable with a mirror base URL (see `withMirror`). */
export const MIRROR_ENV = 'SUPCON_DATASET_MIRROR';

/** True for the names in `DATASET_SOURCES`. */
export function isDatasetName(name: string): name is DatasetName {
  return Object.prototype.hasOwnProperty.call(DATASET_SOURCES, name);
}

/**
 * `source` with every file's directory replaced by `mirror`: `https://m.example/d/` + file name.
 * `{dataset}` in the mirror is replaced by the dataset name (MNIST and Fashion-MNIST share file
 * names, so one mirror for both needs it). Sizes and SHA-256 stay those of `source`.
 */
export function withMirror(source: DatasetSource, mirror: string, dataset: string): DatasetSource {
  const base = mirror.replaceAll('{dataset}', dataset);
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(`mirror: expected an http(s) URL, got '${mirror}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`mirror: expected an http(s) URL, got '${mirror}'`);
  }
  const dir = base.endsWith('/') ? base : `${base}/`;
  return {
    ...source,
    files: source.files.map((f) => ({ ...f, url: `${dir}${encodeURIComponent(f.name)}` })),
  };
}

/**
 * The source to download `dataset` from: `source` if given, else the catalogue's; then rewritten
 * by `mirror`, else by `$SUPCON_DATASET_MIRROR`, when either is set.
 */
export function resolveSource(
  dataset: DatasetName,
  options: { mirror?: string; source?: DatasetSource } = {},
): DatasetSource {
  const source = options.source ?? DATASET_SOURCES[dataset];
  const env = typeof process === 'object' ? process.env?.[MIRROR_ENV] : undefined; // no process in browsers
  const mirror = options.mirror || env || undefined;
  return mirror ? withMirror(source, mirror, dataset) : source;
}

/** `30.9 MB`, `170 MB`, `5.1 kB` (decimal units, as download sizes are usually given). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${bytes} bytes`;
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
