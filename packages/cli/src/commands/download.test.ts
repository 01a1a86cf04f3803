import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createRegistry, createRng } from '@supcon/core';
import { DATASET_SOURCES } from '@supcon/data';
import type { DownloadOffer } from '@supcon/data';
import { builtinPlugins } from '@supcon/train';
import { main } from '../main';
import { askToDownload, withDownloadPrompt } from './download';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { print: (l) => out.push(l), printError: (l) => err.push(l) });
  return { code, out, err };
}

const saved = { cache: process.env.SUPCON_CACHE, mirror: process.env.SUPCON_DATASET_MIRROR };
let cache = '';
beforeEach(() => {
  cache = mkdtempSync(path.join(tmpdir(), 'supcon-cli-cache-'));
  process.env.SUPCON_CACHE = cache;
  delete process.env.SUPCON_DATASET_MIRROR;
});
afterAll(() => {
  for (const [key, value] of [
    ['SUPCON_CACHE', saved.cache],
    ['SUPCON_DATASET_MIRROR', saved.mirror],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('supcon download', () => {
  it('rejects an unknown dataset, naming the known ones', async () => {
    const { code, err } = await run(['download', 'imagenet']);
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(
      "unknown dataset 'imagenet' (known: fashion-mnist, mnist, cifar10, cifar100)",
    );
  });

  it('downloads from --mirror with the catalogue hashes: a file that differs fails and is deleted', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end('not the MNIST file');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { code, out, err } = await run([
        'download',
        'mnist',
        '--mirror',
        `http://${host}/{dataset}/`,
      ]);
      expect(code).toBe(1);
      expect(out).toEqual([
        `downloading MNIST (11.6 MB) from ${host} into ${path.join(cache, 'mnist')}`,
      ]);
      expect(err.join('\n')).toContain(
        `SHA-256 mismatch: expected ${DATASET_SOURCES.mnist.files[0].sha256}`,
      );
      expect(requests).toEqual([`/mnist/${DATASET_SOURCES.mnist.files[0].name}`]);
      expect(readdirSync(path.join(cache, 'mnist'))).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('the download question of supcon train/eval', () => {
  const offer: DownloadOffer = {
    dataset: 'fashion-mnist',
    title: 'Fashion-MNIST',
    files: DATASET_SOURCES['fashion-mnist'].files.map((f) => f.name),
    urls: DATASET_SOURCES['fashion-mnist'].files.map((f) => f.url),
    totalBytes: DATASET_SOURCES['fashion-mnist'].files.reduce((s, f) => s + f.bytes, 0),
    dest: '/tmp/cache/fashion-mnist',
  };

  it('asks on a terminal and takes y/yes as yes, anything else as no; never asks elsewhere', async () => {
    for (const [reply, yes] of [
      ['y\n', true],
      ['Yes\n', true],
      ['\n', false],
      ['n\n', false],
    ] as const) {
      const input = new PassThrough();
      const output = new PassThrough();
      let shown = '';
      output.on('data', (c: Buffer) => (shown += c.toString()));
      const answer = askToDownload(offer, { input, output, interactive: true });
      input.write(reply);
      expect(await answer).toBe(yes);
      expect(shown).toContain(
        'Download Fashion-MNIST (30.9 MB) from fashion-mnist.s3-website.eu-central-1.amazonaws.com into /tmp/cache/fashion-mnist? [y/N] ',
      );
    }
    // Not a terminal: no question, no read.
    expect(await askToDownload(offer, { input: new PassThrough(), interactive: false })).toBe(
      false,
    );
    // End of input (Ctrl+D) is a no.
    const eof = new PassThrough();
    const answer = askToDownload(offer, {
      input: eof,
      output: new PassThrough(),
      interactive: true,
    });
    eof.end();
    expect(await answer).toBe(false);
  }, 10000);

  (existsSync('/usr/share/datasets/mnist') ? it.skip : it)(
    'a config dataset left without download: true goes through the question',
    async () => {
      const offers: DownloadOffer[] = [];
      const registry = createRegistry(
        withDownloadPrompt(builtinPlugins, async (o) => {
          offers.push(o);
          return false;
        }),
      );
      const part = await registry.build('dataset', { type: 'mnist' }, { rng: createRng(1) });
      await expect(part.load('train')).rejects.toThrow('(the download was declined)');
      expect(offers).toHaveLength(1);
      expect(offers[0]).toMatchObject({
        dataset: 'mnist',
        dest: path.join(cache, 'mnist'),
        totalBytes: 11594722,
      });
      expect(existsSync(path.join(cache, 'mnist'))).toBe(false);
    },
  );
});
