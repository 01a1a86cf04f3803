/**
 * The parts of the BullMQ path that need no Redis server: the optional packages' loading and its
 * message, job ids, and the checks made before connecting. The queue itself, with real workers on
 * a real redis-server, is tested end to end in packages/cli/test/sweep-redis.test.ts.
 */
import { enqueueSweep, runSweepWorker, shownRedisUrl, sweepJobId } from '../src';
import { loadQueueModules } from '../src/sweep-queue';
import type { Sweep } from '../src';

const notFound = (name: string) => Object.assign(new Error(`Cannot find package '${name}' imported from /app/index.js`), { code: 'ERR_MODULE_NOT_FOUND' });

describe('the optional packages bullmq and ioredis', () => {
  it('are loaded when there (the real ones here)', async () => {
    const modules = await loadQueueModules();
    expect(typeof modules.bullmq.Worker).toBe('function');
    expect(typeof modules.bullmq.Queue).toBe('function');
    expect(typeof modules.Redis).toBe('function');
  });

  it('missing: one message names both packages, the install command and the missing one', async () => {
    const without = (missing: string[]) => (name: string) => (missing.includes(name) ? Promise.reject(notFound(name)) : import(name));
    await expect(loadQueueModules(without(['bullmq', 'ioredis']))).rejects.toThrow(
      'the Redis queue (supcon sweep --redis, supcon worker) needs the packages bullmq and ioredis: npm install bullmq ioredis (not installed: bullmq, ioredis)',
    );
    await expect(loadQueueModules(without(['ioredis']))).rejects.toThrow(/npm install bullmq ioredis \(not installed: ioredis\)$/);
  });

  it('a package that is there but fails to load is reported as such, not as missing', async () => {
    const broken = (name: string) => (name === 'bullmq' ? Promise.reject(new SyntaxError('Unexpected token')) : import(name));
    await expect(loadQueueModules(broken)).rejects.toThrow('the package bullmq failed to load: Unexpected token');
  });
});

describe('sweep jobs', () => {
  it('a job id is the same for the same sweep file and run, and differs otherwise', () => {
    const id = sweepJobId('/data/sweeps/t.yaml', 'seed-0');
    expect(id).toMatch(/^supcon-[0-9a-f]{24}$/);
    expect(sweepJobId('/data/sweeps/../sweeps/t.yaml', 'seed-0')).toBe(id);
    expect(sweepJobId('/data/sweeps/t.yaml', 'seed-1')).not.toBe(id);
    expect(sweepJobId('/data/other/t.yaml', 'seed-0')).not.toBe(id);
  });

  it('a URL is printed without its password', () => {
    expect(shownRedisUrl('redis://:s3cret@queue:6379/2')).toBe('redis://:***@queue:6379/2');
    expect(shownRedisUrl('rediss://worker:s3cret@queue:6380')).toBe('rediss://worker:***@queue:6380');
    expect(shownRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('refuses what it cannot enqueue or run before connecting', async () => {
    const inline: Sweep = { name: 'inline', base: { data: { type: 'fashion-mnist-sample' } }, grid: [{ key: 'seed', values: [0] }], out: '/tmp/x' };
    await expect(enqueueSweep(inline, { redis: 'redis://127.0.0.1:1' })).rejects.toThrow('enqueueSweep: the sweep has no file');
    await expect(enqueueSweep({ ...inline, file: '/tmp/s.yaml' }, { redis: 'redis://127.0.0.1:1', attempts: 0 })).rejects.toThrow('attempts: expected an integer >= 1, got 0');
    await expect(enqueueSweep({ ...inline, file: '/tmp/s.yaml' }, { redis: 'localhost:6379' })).rejects.toThrow('--redis localhost:6379: expected a Redis URL, redis://HOST:PORT');
    await expect(runSweepWorker({ redis: 'redis://127.0.0.1:1', concurrency: 0, launch: () => undefined as never })).rejects.toThrow('concurrency: expected an integer >= 1, got 0');
  });

  it('a server that is not there: the error names --redis and the URL', async () => {
    const sweep: Sweep = { file: '/tmp/s.yaml', name: 's', base: {}, grid: [], out: '/tmp/nowhere-supcon' };
    // Port 1 on the loopback: nothing listens there.
    await expect(enqueueSweep(sweep, { redis: 'redis://127.0.0.1:1' })).rejects.toThrow(/^--redis redis:\/\/127\.0\.0\.1:1: cannot reach the Redis server: .*ECONNREFUSED/);
  }, 20_000);
});
