import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { main } from '../main';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dir = mkdtempSync(join(tmpdir(), 'supcon-preflight-'));
let n = 0;
function configFile(config: Record<string, unknown>): string {
  const file = join(dir, `c${n++}.json`);
  const base = { backend: 'cpu', data: { type: 'fashion-mnist', sample: true, trainSize: 50, testSize: 20 }, loss: { type: 'supcon-out' }, train: { epochs: 1, batchSize: 16 } };
  writeFileSync(file, JSON.stringify({ ...base, ...config, out: join(dir, `run${n}`) }));
  return file;
}

async function validate(config: Record<string, unknown>): Promise<{ code: number; errors: string }> {
  const err: string[] = [];
  const code = await main(['validate', '--config', configFile(config)], { print: () => {}, printError: (l) => void err.push(l) });
  return { code, errors: err.join('\n') };
}

describe('runs that cannot train are refused before training', () => {
  it('validate accepts a config that trains', async () => {
    expect(await validate({})).toEqual({ code: 0, errors: '' });
  });

  it('zero steps per epoch: batch larger than the training split with dropLast', async () => {
    const r = await validate({ train: { epochs: 1, batchSize: 64 }, sampler: { type: 'random', dropLast: true } });
    expect(r.code).toBe(2);
    expect(r.errors).toContain('train.batchSize: 64 gives 0 steps per epoch on 50 training images');
    // Without dropLast the last, short batch is a step: it trains.
    expect((await validate({ train: { epochs: 1, batchSize: 64 }, sampler: { type: 'random', dropLast: false } })).code).toBe(0);
  });

  it('no anchor can ever have a positive', async () => {
    const one = await validate({ train: { epochs: 1, batchSize: 1, views: 1 } });
    expect(one.code).toBe(2);
    expect(one.errors).toContain('train.batchSize: with train.views 1, a batch of 1 image gives no anchor a positive');
    const simclr = await validate({ loss: { type: 'simclr' }, train: { epochs: 1, batchSize: 16, views: 1 } });
    expect(simclr.code).toBe(2);
    expect(simclr.errors).toContain('train.views: simclr takes the other view of an image as its positive: expected at least 2 views, got 1');
    // One view, batches of 16 of 10 classes: same-class images in a batch are positives.
    expect((await validate({ train: { epochs: 1, batchSize: 16, views: 1 } })).code).toBe(0);
    // Cross-entropy has no positives to need.
    expect((await validate({ loss: { type: 'cross-entropy' }, train: { epochs: 1, batchSize: 1, views: 1 } })).code).toBe(0);
  });

  it('m-per-class: batch not a multiple of m, or more classes per batch than the data has', async () => {
    const multiple = await validate({ sampler: { type: 'm-per-class', m: 4 }, train: { epochs: 1, batchSize: 30 } });
    expect(multiple.code).toBe(2);
    expect(multiple.errors).toContain('train.batchSize: m-per-class needs a multiple of sampler.m (4), got 30');
    const classes = await validate({ sampler: { type: 'm-per-class', m: 2 }, train: { epochs: 1, batchSize: 40 } });
    expect(classes.code).toBe(2);
    expect(classes.errors).toContain('train.batchSize: m-per-class batches of 40 with m = 2 need 20 classes, but the training data has 10');
  });

  it('a missing loss, and a data root that does not exist', async () => {
    const err: string[] = [];
    const file = join(dir, 'noloss.json');
    writeFileSync(file, JSON.stringify({ backend: 'cpu', data: { type: 'fashion-mnist', sample: true }, train: { epochs: 1, batchSize: 8 } }));
    expect(await main(['validate', '--config', file], { print: () => {}, printError: (l) => void err.push(l) })).toBe(2);
    expect(err.join('\n')).toContain('loss: required: name a loss');
    const root = await validate({ data: { type: 'fashion-mnist', root: '/nonexistent/fashion' } });
    expect(root.code).toBe(2);
    expect(root.errors).toContain('data.root: no such folder: /nonexistent/fashion');
  });

  it('train refuses the same configs with exit code 2 and trains nothing', async () => {
    const err: string[] = [];
    const file = configFile({ train: { epochs: 1, batchSize: 64 }, sampler: { type: 'random', dropLast: true } });
    const out = join(dir, 'refused');
    expect(await main(['train', '--config', file, '--out', out, '--no-report'], { print: () => {}, printError: (l) => void err.push(l) })).toBe(2);
    expect(err.join('\n')).toContain('train.batchSize: 64 gives 0 steps per epoch on 50 training images');
    expect(existsSync(join(out, 'summary.json'))).toBe(false);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false);
  });
});
