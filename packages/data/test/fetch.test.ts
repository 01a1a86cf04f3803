/**
 * Downloading datasets through the loaders and ensureDataset, against a server on 127.0.0.1 that
 * serves files the tests write (MNIST-format gzip IDX files, a CIFAR-10 / CIFAR-100 tar.gz): never
 * the real network. Each test gets a fresh SUPCON_CACHE.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { create as createTar } from 'tar';
import { createRng } from '@supcon/core';
import {
  DATASET_SOURCES,
  downloadOffer,
  encodeIdx,
  ensureDataset,
  formatBytes,
  loadCifar10,
  loadCifar100,
  loadMnist,
  resolveSource,
} from '../src/index';
import type { DatasetSource, DownloadOffer } from '../src/index';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Deterministic bytes that gzip cannot shrink much (so a transfer can be cut in the middle). */
function noise(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => rng.uint32() >>> 24);
}

/** MNIST-format split: 28x28 images and labels 0..9, as the catalogue's four .gz files. */
const mnist = {
  train: {
    images: noise(20 * 784, 1),
    labels: Uint8Array.from({ length: 20 }, (_, i) => (i * 3) % 10),
  },
  test: { images: noise(8 * 784, 2), labels: Uint8Array.from({ length: 8 }, (_, i) => 9 - i) },
};
const mnistFiles: Record<string, Buffer> = {
  'train-images-idx3-ubyte.gz': gzipSync(encodeIdx([20, 28, 28], mnist.train.images)),
  'train-labels-idx1-ubyte.gz': gzipSync(encodeIdx([20], mnist.train.labels)),
  't10k-images-idx3-ubyte.gz': gzipSync(encodeIdx([8, 28, 28], mnist.test.images)),
  't10k-labels-idx1-ubyte.gz': gzipSync(encodeIdx([8], mnist.test.labels)),
};

/** A CIFAR record: label byte(s), then 3 planes of 32x32 bytes. */
function record(labels: number[], seed: number): Uint8Array {
  const r = new Uint8Array(labels.length + 3072);
  r.set(labels);
  r.set(noise(3072, seed), labels.length);
  return r;
}
const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

/** Writes `files` under `dir/folder` and returns them as a tar.gz (made with the tar package). */
async function tarGz(folder: string, files: Record<string, Uint8Array | string>): Promise<Buffer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tar-src-'));
  mkdirSync(path.join(dir, folder));
  for (const [name, data] of Object.entries(files))
    writeFileSync(path.join(dir, folder, name), data);
  const file = path.join(dir, 'archive.tar.gz');
  await createTar({ gzip: true, file, cwd: dir }, [folder]);
  return readFileSync(file);
}

const cifar10Files: Record<string, Uint8Array | string> = {
  ...Object.fromEntries(
    [1, 2, 3, 4, 5].map((b) => [
      `data_batch_${b}.bin`,
      concat([record([b], b), record([b + 4], b + 10)]),
    ]),
  ),
  'test_batch.bin': concat([record([7], 99)]),
  'batches.meta.txt': 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n',
};

const noSystemCopies =
  !existsSync('/usr/share/datasets/mnist') &&
  !existsSync('/usr/share/datasets/cifar10') &&
  !existsSync('/usr/share/datasets/cifar100');

(noSystemCopies ? describe : describe.skip)('dataset downloads from a server on 127.0.0.1', () => {
  let server: http.Server;
  let base = '';
  const served = new Map<string, Buffer>();
  const requests: { url: string; range?: string }[] = [];
  const cutOnce = new Set<string>();
  let ignoreRange = false;
  let cache = '';
  const savedEnv = { cache: process.env.SUPCON_CACHE, mirror: process.env.SUPCON_DATASET_MIRROR };

  beforeAll(async () => {
    for (const [name, data] of Object.entries(mnistFiles)) served.set(`/mnist/${name}`, data);
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      requests.push({ url, range: req.headers.range });
      const data = served.get(url);
      if (!data) {
        res.writeHead(404).end();
        return;
      }
      const range = ignoreRange ? null : /bytes=(\d+)-/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'content-length': String(data.length - start) });
      if (cutOnce.delete(url)) {
        res.write(data.subarray(start, start + Math.floor((data.length - start) / 2)));
        setTimeout(() => res.destroy(), 50);
        return;
      }
      res.end(data.subarray(start));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    for (const [key, value] of [
      ['SUPCON_CACHE', savedEnv.cache],
      ['SUPCON_DATASET_MIRROR', savedEnv.mirror],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  beforeEach(() => {
    cache = mkdtempSync(path.join(tmpdir(), 'supcon-cache-'));
    process.env.SUPCON_CACHE = cache;
    delete process.env.SUPCON_DATASET_MIRROR;
    requests.length = 0;
    cutOnce.clear();
    ignoreRange = false;
  });

  /** The test's own source for MNIST: its server's addresses, its files' sizes and hashes. */
  const mnistSource = (dir = `${base}/mnist/`): DatasetSource => ({
    title: 'MNIST (test)',
    files: Object.entries(mnistFiles).map(([name, data]) => ({
      name,
      url: `${dir}${name}`,
      bytes: data.length,
      sha256: sha(data),
    })),
  });
  const mnistBytes = Object.values(mnistFiles).reduce((s, d) => s + d.length, 0);

  const expectSplit = (ds: Awaited<ReturnType<typeof loadMnist>>, split: 'train' | 'test') => {
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(Buffer.from(ds.images).equals(Buffer.from(mnist[split].images))).toBe(true);
    expect([...ds.labels]).toEqual([...mnist[split].labels]);
  };

  it('(a) download: true fetches the files, verifies them and loads the exact pixels and labels written', async () => {
    expectSplit(
      await loadMnist({
        split: 'train',
        download: true,
        source: mnistSource(),
        progressBar: false,
      }),
      'train',
    );
    expectSplit(
      await loadMnist({ split: 'test', download: true, source: mnistSource(), progressBar: false }),
      'test',
    );
    expect(readdirSync(path.join(cache, 'mnist')).sort()).toEqual(Object.keys(mnistFiles).sort());
    expect(requests.map((r) => r.url).sort()).toEqual(
      Object.keys(mnistFiles)
        .map((n) => `/mnist/${n}`)
        .sort(),
    );
  });

  it('(g) a second load or ensureDataset makes no request', async () => {
    await loadMnist({ split: 'train', download: true, source: mnistSource(), progressBar: false });
    const before = requests.length;
    expect(before).toBe(4);
    expectSplit(
      await loadMnist({
        split: 'train',
        download: true,
        source: mnistSource(),
        progressBar: false,
      }),
      'train',
    );
    expectSplit(
      await loadMnist({ split: 'test', download: true, source: mnistSource(), progressBar: false }),
      'test',
    );
    expect(await ensureDataset('mnist', { source: mnistSource(), progressBar: false })).toBe(
      path.join(cache, 'mnist'),
    );
    expect(requests.length).toBe(before);
  });

  it('(b) the offer function gets the sizes, addresses and folder; false means a clear error and nothing written', async () => {
    const offers: DownloadOffer[] = [];
    const decline = (offer: DownloadOffer) => {
      offers.push(offer);
      return false;
    };
    const error = await loadMnist({
      split: 'train',
      download: decline,
      source: mnistSource(),
      progressBar: false,
    }).catch((e: Error) => e);
    expect(offers).toEqual([
      {
        dataset: 'mnist',
        title: 'MNIST (test)',
        files: Object.keys(mnistFiles),
        urls: Object.keys(mnistFiles).map((n) => `${base}/mnist/${n}`),
        totalBytes: mnistBytes,
        dest: path.join(cache, 'mnist'),
      },
    ]);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(
      `mnist not found in ${path.join(cache, 'mnist')} or /usr/share/datasets/mnist (the download was declined)`,
    );
    expect(message).toContain('download: true');
    expect(message).toContain('`supcon download mnist`');
    expect(message).toContain(`4 files, ${formatBytes(mnistBytes)} from 127.0.0.1`);
    expect(existsSync(path.join(cache, 'mnist'))).toBe(false);
    expect(requests).toEqual([]);
  });

  it('(b) without download the error gives the catalogue size and the CLI command; an async yes is asked once for both splits', async () => {
    await expect(loadMnist({ split: 'test' })).rejects.toThrow(
      `mnist not found in ${path.join(cache, 'mnist')} or /usr/share/datasets/mnist. To download MNIST (4 files, 11.6 MB from storage.googleapis.com) into ${path.join(cache, 'mnist')}: pass download: true`,
    );
    await expect(loadMnist({ split: 'test' })).rejects.toThrow('or run `supcon download mnist`');
    let asked = 0;
    const yes = async () => {
      asked++;
      return true;
    };
    const [train, test] = await Promise.all([
      loadMnist({ split: 'train', download: yes, source: mnistSource(), progressBar: false }),
      loadMnist({ split: 'test', download: yes, source: mnistSource(), progressBar: false }),
    ]);
    expectSplit(train, 'train');
    expectSplit(test, 'test');
    expect(asked).toBe(1);
    expect(requests.length).toBe(4);
  });

  it('(c) a mirror keeps the catalogue hashes: a file that differs is deleted and the error names it and both hashes', async () => {
    const first = DATASET_SOURCES.mnist.files[0];
    const got = sha(mnistFiles[first.name]);
    const expected = `MNIST: ${first.name}: download ${base}/mnist/${first.name}: SHA-256 mismatch: expected ${first.sha256}, got ${got}`;
    await expect(
      loadMnist({ split: 'train', download: true, mirror: `${base}/mnist/`, progressBar: false }),
    ).rejects.toThrow(expected);
    expect(readdirSync(path.join(cache, 'mnist'))).toEqual([]);
    // The same through $SUPCON_DATASET_MIRROR, with {dataset} in it.
    process.env.SUPCON_DATASET_MIRROR = `${base}/{dataset}`;
    await expect(ensureDataset('mnist', { progressBar: false })).rejects.toThrow(expected);
    expect(readdirSync(path.join(cache, 'mnist'))).toEqual([]);
    expect(requests.map((r) => r.url)).toEqual([`/mnist/${first.name}`, `/mnist/${first.name}`]);
  });

  it('a mirror rewrites a custom source too, whose hashes then apply', async () => {
    const source = mnistSource('http://example.invalid/nowhere/');
    expectSplit(
      await loadMnist({
        split: 'test',
        download: true,
        source,
        mirror: `${base}/mnist`,
        progressBar: false,
      }),
      'test',
    );
    expect(requests.every((r) => r.url.startsWith('/mnist/'))).toBe(true);
  });

  it('(d) a download cut short fails, keeps the part file, and the next call resumes it with Range', async () => {
    const name = 'train-images-idx3-ubyte.gz';
    cutOnce.add(`/mnist/${name}`);
    await expect(
      loadMnist({ split: 'train', download: true, source: mnistSource(), progressBar: false }),
    ).rejects.toThrow(/run again to resume/);
    const part = path.join(cache, 'mnist', `${name}.part`);
    const kept = statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(mnistFiles[name].length);
    expectSplit(
      await loadMnist({
        split: 'train',
        download: true,
        source: mnistSource(),
        progressBar: false,
      }),
      'train',
    );
    expect(requests.filter((r) => r.range)).toEqual([
      { url: `/mnist/${name}`, range: `bytes=${kept}-` },
    ]);
    expect(existsSync(part)).toBe(false);
  });

  it('(e) a server that ignores Range (200, whole file) still yields the right file', async () => {
    const name = 'train-images-idx3-ubyte.gz';
    mkdirSync(path.join(cache, 'mnist'), { recursive: true });
    writeFileSync(path.join(cache, 'mnist', `${name}.part`), Buffer.alloc(1000, 0xab));
    ignoreRange = true;
    expectSplit(
      await loadMnist({
        split: 'train',
        download: true,
        source: mnistSource(),
        progressBar: false,
      }),
      'train',
    );
    expect(requests.find((r) => r.url === `/mnist/${name}`)?.range).toBe('bytes=1000-');
    expect(readFileSync(path.join(cache, 'mnist', name)).equals(mnistFiles[name])).toBe(true);
  });

  describe('CIFAR archives', () => {
    let good: Buffer;
    const cifar10Source = (archive: Buffer, url = '/cifar-10-binary.tar.gz'): DatasetSource => {
      served.set(url, archive);
      return {
        title: 'CIFAR-10 (test)',
        files: [
          {
            name: 'cifar-10-binary.tar.gz',
            url: `${base}${url}`,
            bytes: archive.length,
            sha256: sha(archive),
          },
        ],
        unpack: DATASET_SOURCES.cifar10.unpack,
      };
    };
    const folder = () => path.join(cache, 'cifar10', 'cifar-10-batches-bin');
    const leftovers = () =>
      readdirSync(path.join(cache, 'cifar10')).filter((n) => n.startsWith('.unpack-'));
    beforeAll(async () => {
      good = await tarGz('cifar-10-batches-bin', cifar10Files);
    });

    it('(f) download: true unpacks the tar.gz into the cache, deletes the archive and loads; a second call makes no request', async () => {
      const source = cifar10Source(good);
      const train = await loadCifar10({
        split: 'train',
        download: true,
        source,
        progressBar: false,
      });
      expect(train.size).toBe(10);
      expect([...train.labels]).toEqual([1, 5, 2, 6, 3, 7, 4, 8, 5, 9]);
      // pixel (y=1, x=2) of the first image: planes R, G, B at offsets 34, 1024 + 34, 2048 + 34 of its record.
      const first = cifar10Files['data_batch_1.bin'] as Uint8Array;
      expect([...train.images.subarray((32 + 2) * 3, (32 + 2) * 3 + 3)]).toEqual([
        first[1 + 34],
        first[1 + 1024 + 34],
        first[1 + 2048 + 34],
      ]);
      const test = await loadCifar10({ split: 'test', download: true, source, progressBar: false });
      expect(test.classes[test.labels[0]]).toBe('horse');
      expect(readdirSync(path.join(cache, 'cifar10'))).toEqual(['cifar-10-batches-bin']);
      expect(readdirSync(folder()).sort()).toEqual(
        [...DATASET_SOURCES.cifar10.unpack!.contents].sort(),
      );
      expect(requests.length).toBe(1);
      expect(await ensureDataset('cifar10', { source, progressBar: false })).toBe(folder());
      await loadCifar10({ split: 'train' });
      expect(requests.length).toBe(1);
    });

    it('(f) a truncated archive unpacks nothing the loader would accept; a stale unpack folder is ignored and cleaned', async () => {
      // A dead process's unpack folder holding a complete-looking copy: never read, removed by the next unpack.
      const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
      const stale = path.join(
        cache,
        'cifar10',
        `.unpack-${deadPid}-abc123`,
        'cifar-10-batches-bin',
      );
      mkdirSync(stale, { recursive: true });
      for (const [name, data] of Object.entries(cifar10Files))
        writeFileSync(path.join(stale, name), data);
      await expect(loadCifar10({ split: 'test' })).rejects.toThrow(
        /cifar10 not found in .*`supcon download cifar10`/,
      );

      const truncated = good.subarray(0, Math.floor(good.length * 0.6));
      await expect(
        loadCifar10({
          split: 'test',
          download: true,
          source: cifar10Source(truncated, '/truncated.tar.gz'),
          progressBar: false,
        }),
      ).rejects.toThrow(
        /CIFAR-10 \(test\): unpacking .*cifar-10-binary\.tar\.gz failed: .*nothing was unpacked/,
      );
      expect(existsSync(folder())).toBe(false);
      expect(leftovers()).toEqual([]);
      expect(existsSync(path.join(cache, 'cifar10', 'cifar-10-binary.tar.gz'))).toBe(true);
      await expect(loadCifar10({ split: 'test' })).rejects.toThrow(/cifar10 not found/);

      // An archive that lacks batches: also nothing unpacked.
      const partial = await tarGz('cifar-10-batches-bin', {
        'data_batch_1.bin': cifar10Files['data_batch_1.bin'],
        'test_batch.bin': cifar10Files['test_batch.bin'],
      });
      await expect(
        loadCifar10({
          split: 'test',
          download: true,
          source: cifar10Source(partial, '/partial.tar.gz'),
          progressBar: false,
        }),
      ).rejects.toThrow(
        'does not hold cifar-10-batches-bin/data_batch_2.bin, cifar-10-batches-bin/data_batch_3.bin',
      );
      expect(existsSync(folder())).toBe(false);

      // The good archive replaces the kept one (its hash differs) and unpacks.
      const test = await loadCifar10({
        split: 'test',
        download: true,
        source: cifar10Source(good),
        progressBar: false,
      });
      expect(test.size).toBe(1);
      expect(leftovers()).toEqual([]);
    });

    it('CIFAR-100 through ensureDataset with keepArchive; the loader then finds the unpacked folder in the cache', async () => {
      const archive = await tarGz('cifar-100-binary', {
        'train.bin': concat([record([3, 42], 1), record([19, 99], 2)]),
        'test.bin': concat([record([0, 5], 3)]),
        'fine_label_names.txt': Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'),
        'coarse_label_names.txt': Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n'),
      });
      served.set('/c100/cifar-100-binary.tar.gz', archive);
      const source: DatasetSource = {
        ...DATASET_SOURCES.cifar100,
        files: [
          {
            name: 'cifar-100-binary.tar.gz',
            url: 'http://example.invalid/cifar-100-binary.tar.gz',
            bytes: archive.length,
            sha256: sha(archive),
          },
        ],
      };
      const offer = downloadOffer('cifar100', { source, mirror: `${base}/c100/` });
      expect(offer).toMatchObject({
        files: ['cifar-100-binary.tar.gz'],
        urls: [`${base}/c100/cifar-100-binary.tar.gz`],
        totalBytes: archive.length,
      });
      const dir = await ensureDataset('cifar100', {
        source,
        mirror: `${base}/c100/`,
        keepArchive: true,
        progressBar: false,
      });
      expect(dir).toBe(path.join(cache, 'cifar100', 'cifar-100-binary'));
      expect(existsSync(path.join(cache, 'cifar100', 'cifar-100-binary.tar.gz'))).toBe(true);
      const train = await loadCifar100({ split: 'train' });
      expect([...train.labels]).toEqual([42, 99]);
      expect(train.classes[99]).toBe('fine99');
      expect(downloadOffer('cifar100', { source }).files).toEqual([]);
    });
  });
});

describe('catalogue', () => {
  it('has a URL, size and SHA-256 per file, and the archive folders the CIFAR loaders read', () => {
    for (const source of Object.values(DATASET_SOURCES)) {
      for (const f of source.files) {
        expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(f.bytes).toBeGreaterThan(1000);
        expect(f.url.endsWith(`/${f.name}`)).toBe(true);
      }
    }
    const total = (name: keyof typeof DATASET_SOURCES) =>
      DATASET_SOURCES[name].files.reduce((s, f) => s + f.bytes, 0);
    expect(formatBytes(total('fashion-mnist'))).toBe('30.9 MB');
    expect(formatBytes(total('cifar10'))).toBe('170 MB');
    expect(DATASET_SOURCES.cifar10.unpack?.folder).toBe('cifar-10-batches-bin');
    expect(DATASET_SOURCES.cifar100.unpack?.folder).toBe('cifar-100-binary');
  });

  it('mirrors replace the directory, with {dataset}, and must be http(s) URLs', () => {
    const saved = process.env.SUPCON_DATASET_MIRROR;
    delete process.env.SUPCON_DATASET_MIRROR;
    try {
      expect(
        resolveSource('fashion-mnist', { mirror: 'https://m.example/data/{dataset}' }).files[0].url,
      ).toBe('https://m.example/data/fashion-mnist/train-images-idx3-ubyte.gz');
      expect(resolveSource('cifar10', { mirror: 'http://m.example/' }).files[0]).toMatchObject({
        url: 'http://m.example/cifar-10-binary.tar.gz',
        sha256: DATASET_SOURCES.cifar10.files[0].sha256,
      });
      expect(resolveSource('mnist').files[0].url).toBe(DATASET_SOURCES.mnist.files[0].url);
      process.env.SUPCON_DATASET_MIRROR = 'http://env.example/';
      expect(resolveSource('mnist').files[0].url).toBe(
        'http://env.example/train-images-idx3-ubyte.gz',
      );
      expect(() => resolveSource('mnist', { mirror: 'ftp://m.example/' })).toThrow(
        "mirror: expected an http(s) URL, got 'ftp://m.example/'",
      );
      expect(() => resolveSource('mnist', { mirror: 'not a url' })).toThrow(
        'mirror: expected an http(s) URL',
      );
    } finally {
      if (saved === undefined) delete process.env.SUPCON_DATASET_MIRROR;
      else process.env.SUPCON_DATASET_MIRROR = saved;
    }
  });
});
