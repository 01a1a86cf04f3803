/**
 * The opt-in profile of train() (`TrainOptions.profile`): every phase present and >= 0, their sum
 * within the wall time, and the profiled run bitwise the run without it (reference.json, which
 * train.test.ts checks for the unprofiled run).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { memoryStorage } from '@supcon/core';
import { PROFILE_PHASES, StepProfile, profiledStorage, train } from '../src';
import configsJson from './fixtures/reference-configs.json';

const reference = JSON.parse(
  readFileSync(path.join(__dirname, 'fixtures/reference.json'), 'utf8'),
) as {
  runs: Record<
    string,
    { checkpoint: string; weightsSha256: string; optimizerSha256: string; epochLoss: number[] }
  >;
};
const configs = configsJson as Record<'supcon' | 'ce', Record<string, unknown>>;
const quiet = { info: () => undefined, warn: () => undefined };
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const folders: string[] = [];
afterAll(() => folders.forEach((f) => rmSync(f, { recursive: true, force: true })));

describe('StepProfile', () => {
  it('counts after the warm-up steps, times nested storage calls once, and stops at finish', async () => {
    const profile = new StepProfile({ warmupSteps: 1 });
    expect(profile.stepStarted(8)).toBe(false);
    expect(profile.active).toBe(false);
    expect(profile.stepStarted(8)).toBe(true);
    const storage = profiledStorage(memoryStorage('p'), profile);
    await Promise.all([storage.write('a.txt', 'x'), storage.append('b.txt', 'y')]);
    expect(await storage.read('a.txt')).toEqual(new TextEncoder().encode('x'));
    profile.finish();
    expect(profile.stepStarted(8)).toBe(false);
    const r = profile.report();
    expect(r.steps).toBe(1);
    expect(r.images).toBe(8);
    expect(r.phases.io).toBeGreaterThanOrEqual(0);
    expect(r.phases.io).toBeLessThanOrEqual(r.wallMs);
    expect(() => new StepProfile({ warmupSteps: -1 })).toThrow(/warmupSteps/);
  });
});

describe('train() with a profile', () => {
  for (const name of ['supcon', 'ce'] as const) {
    it(`${name}: reports every phase (>= 0, summing to at most the wall time) and ends with bitwise the weights of the unprofiled run`, async () => {
      const expected = reference.runs[name];
      const folder = mkdtempSync(path.join(tmpdir(), 'supcon-profile-'));
      folders.push(folder);
      const out = path.join(folder, 'run');
      const profile = new StepProfile({ warmupSteps: 1 });
      const { summary } = await train({ ...configs[name], out }, { logger: quiet, profile });
      const checkpoint = path.join(out, 'checkpoints', expected.checkpoint);
      expect(sha(readFileSync(path.join(checkpoint, 'model.weights.bin')))).toBe(
        expected.weightsSha256,
      );
      expect(sha(readFileSync(path.join(checkpoint, 'optimizer.bin')))).toBe(
        expected.optimizerSha256,
      );
      expect(summary.epochLoss).toEqual(expected.epochLoss);

      const r = profile.report();
      // 200 images, batch 50, 2 epochs: 8 steps, the first not counted.
      expect(r.steps).toBe(7);
      expect(r.images).toBe(350);
      expect(Object.keys(r.phases).sort()).toEqual([...PROFILE_PHASES, 'idle'].sort());
      for (const phase of [...PROFILE_PHASES, 'idle'] as const)
        expect(r.phases[phase]).toBeGreaterThanOrEqual(0);
      // Each of these did work in the span: steps, two monitors, metrics lines and checkpoints.
      for (const phase of [
        'batching',
        'augmentation',
        'forward',
        'loss',
        'backward',
        'optimizer',
        'monitor',
        'io',
      ] as const)
        expect(r.phases[phase]).toBeGreaterThan(0);
      const busy = PROFILE_PHASES.reduce((s, p) => s + r.phases[p], 0);
      expect(busy).toBeLessThanOrEqual(r.wallMs + 1e-6);
      expect(busy + r.phases.idle).toBeCloseTo(r.wallMs, 6);
      expect(r.cpuMs).toBeGreaterThan(0);
      // The span ended with training: the evaluation after it is not in it.
      expect(r.wallMs).toBeLessThanOrEqual(1000 * (summary.wallTimeSeconds as number));
    }, 300_000);
  }
});
