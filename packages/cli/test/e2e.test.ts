/**
 * End to end on the shipped Fashion-MNIST sample: `supcon train`, `eval`, `report`, `compare`
 * and `--resume` after a SIGKILL, through the built `supcon` bin (the test target builds it).
 * Small, quick configs: a subset of the sample and a tiny CNN on the wasm backend.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkpointName } from '@supcon/core';

const bin = path.join(__dirname, '..', 'dist', 'bin.js');
const root = mkdtempSync(path.join(tmpdir(), 'supcon-e2e-'));

function config(name: string, loss: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = path.join(root, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      seed: 3,
      backend: 'wasm',
      data: { type: 'fashion-mnist-sample', trainSize: 400, testSize: 200 },
      backbone: { type: 'small-cnn', channels: [8, 16] },
      head: { type: 'mlp', dim: 16 },
      augment: { type: 'simclr', scale: [0.6, 1], colorJitter: false, grayscaleProbability: 0 },
      loss,
      optimizer: { type: 'sgd', learningRate: 0.05 },
      train: { epochs: 2, batchSize: 50, views: loss.type === 'cross-entropy' ? 1 : 2 },
      eval: [{ type: 'linear-probe' }, { type: 'knn', k: 10 }, { type: 'corruption', corruptions: ['gaussian-noise', 'contrast'], severities: [1, 5], maxImages: 100 }],
      out: path.join(root, 'runs', name),
      ...extra,
    }),
  );
  return file;
}

function supcon(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const summary = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
const weights = (dir: string, epoch: number) => readFileSync(path.join(dir, 'checkpoints', checkpointName(epoch), 'model.weights.bin'));

beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npx nx build @supcon/cli)`);
});

describe('supcon CLI end to end', () => {
  const supconDir = path.join(root, 'runs', 'supcon');
  const ceDir = path.join(root, 'runs', 'ce');

  it('train writes config, metrics, checkpoints, summary and a report', () => {
    const r = supcon(['train', '--config', config('supcon', { type: 'supcon-out', temperature: 0.1 })]);
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/linear probe top-1 \d+\.\d\d%, kNN top-1 \d+\.\d\d%/);
    const s = summary(supconDir);
    expect(s).toMatchObject({ stage: 'supcon', backend: 'wasm', epochs: 2, trainSize: 400, testSize: 200 });
    for (const key of ['linearProbe', 'knn']) {
      expect(s[key].top1).toBeGreaterThanOrEqual(0);
      expect(s[key].top1).toBeLessThanOrEqual(1);
    }
    // 10 balanced classes, 400 images, 2 epochs: the probe is still clearly above chance (0.1).
    expect(s.linearProbe.top1).toBeGreaterThan(0.15);
    expect(s.imagesPerSecond).toBeGreaterThan(0);
    expect(s.corruption.corruptions.contrast.perSeverity).toHaveLength(2);
    const lines = readFileSync(path.join(supconDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'step')).toHaveLength(16); // 400 / 50 steps x 2 epochs
    expect(lines.filter((l) => l.kind === 'epoch')).toHaveLength(2);
    expect(JSON.parse(readFileSync(path.join(supconDir, 'config.json'), 'utf8')).loss).toEqual({ type: 'supcon-out', temperature: 0.1, contrastMode: 'all', noPositives: 'exclude', normalize: false });
    expect(readFileSync(path.join(supconDir, 'report.html'), 'utf8')).toContain('<h2>Confusion matrix</h2>');
    expect(existsSync(path.join(supconDir, 'embedding-map.json'))).toBe(true);
  }, 300000);

  it('the same seed repeats the run exactly (same backend)', () => {
    const again = path.join(root, 'runs', 'supcon-again');
    expect(supcon(['train', '--config', config('supcon', { type: 'supcon-out', temperature: 0.1 }), '--out', again, '--no-report']).code).toBe(0);
    expect(weights(again, 2).equals(weights(supconDir, 2))).toBe(true);
    expect(summary(again).epochLoss).toEqual(summary(supconDir).epochLoss);
  }, 300000);

  it('a run killed with SIGKILL mid-epoch resumes from its last checkpoint and ends with the same weights', async () => {
    const killed = path.join(root, 'runs', 'killed');
    const file = config('supcon', { type: 'supcon-out', temperature: 0.1 });
    const child = spawn(process.execPath, [bin, 'train', '--config', file, '--out', killed, '--no-report'], { stdio: 'ignore' });
    // Kill once the first epoch's checkpoint exists and the second epoch has logged a step.
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const metrics = path.join(killed, 'metrics.jsonl');
        const ready = existsSync(path.join(killed, 'checkpoints', 'epoch-0001', 'checkpoint.json')) && existsSync(metrics) && /"epoch":1,"step":/.test(readFileSync(metrics, 'utf8'));
        if (ready) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        } else if (Date.now() - started > 240000 || child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error('the run ended before it could be killed mid-epoch 2'));
        }
      }, 20);
    });
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(path.join(killed, 'summary.json'))).toBe(false);
    expect(readdirSync(path.join(killed, 'checkpoints'))).toEqual(['epoch-0001']);
    const r = supcon(['train', '--config', file, '--out', killed, '--resume', '--no-report']);
    expect(r.code).toBe(0);
    expect(weights(killed, 2).equals(weights(supconDir, 2))).toBe(true);
    expect(summary(killed).epochLoss).toEqual(summary(supconDir).epochLoss);
    expect(summary(killed).resumedFrom).toMatch(/epoch-0001$/);
  }, 300000);

  it('cross-entropy baseline, eval --run, report, compare', () => {
    expect(supcon(['train', '--config', config('ce', { type: 'cross-entropy' })]).code).toBe(0);
    expect(summary(ceDir).stage).toBe('ce');
    const e = supcon(['eval', '--run', ceDir]);
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/linearProbe: top-1 \d+\.\d\d%/);
    expect(summary(ceDir).evaluatedFrom).toMatch(/epoch-0002$/);
    const out = path.join(root, 'ce.html');
    expect(supcon(['report', '--run', ceDir, '--out', out]).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('<h2>Per-class accuracy</h2>');
    const c = supcon(['compare', supconDir, ceDir]);
    expect(c.code).toBe(0);
    const rows = c.out.trim().split('\n');
    expect(rows[0]).toMatch(/run\s+loss\s+final loss\s+probe top-1 %\s+kNN top-1 %\s+corr\. err %\s+mCE\s+time s/);
    expect(rows[3]).toMatch(/cross-entropy .* 100\.0 /); // the CE run is the mCE baseline
    const json = JSON.parse(supcon(['compare', supconDir, ceDir, '--json']).out);
    expect(json[0].linearProbeTop1).toBeCloseTo(summary(supconDir).linearProbe.top1, 10);
  }, 300000);

  it('a config of just data, loss and train runs with the defaults (N-pair)', () => {
    const file = path.join(root, 'minimal.yaml');
    const out = path.join(root, 'runs', 'minimal');
    writeFileSync(file, `data: { type: fashion-mnist-sample, trainSize: 200, testSize: 100 }\nloss: { type: npair }\ntrain: { epochs: 1, batchSize: 50 }\nbackend: wasm\nout: ${JSON.stringify(out)}\n`);
    const r = supcon(['train', '--config', file, '--no-report']);
    expect(r.code).toBe(0);
    const s = summary(out);
    expect(s.stage).toBe('supcon');
    expect(Number.isFinite(s.finalLoss)).toBe(true);
    expect(Object.keys(s.eval)).toEqual(['linearProbe', 'knn']);
    const c = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(c.backbone.type).toBe('small-cnn');
    expect(c.sampler.type).toBe('random');
  }, 300000);

  it('triplet with an m-per-class sampler, and SimCLR without labels', () => {
    const t = path.join(root, 'runs', 'triplet');
    const file = config('triplet', { type: 'triplet', mining: 'semi-hard' }, { sampler: { type: 'm-per-class', m: 5 }, train: { epochs: 1, batchSize: 50, views: 2 }, eval: [{ type: 'knn', k: 5 }] });
    expect(supcon(['train', '--config', file, '--no-report']).code).toBe(0);
    expect(summary(t).stage).toBe('supcon');
    const sc = path.join(root, 'runs', 'simclr');
    expect(supcon(['train', '--config', config('simclr', { type: 'simclr' }, { train: { epochs: 1, batchSize: 50, views: 2 }, eval: [{ type: 'knn', k: 5 }] }), '--no-report']).code).toBe(0);
    expect(summary(sc).stage).toBe('simclr');
    expect(summary(sc).knn.top1).toBeGreaterThan(0.1);
  }, 300000);

  it('errors are clear: unknown run folder, bad resume', () => {
    const r = supcon(['report', '--run', path.join(root, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/summary\.json is missing/);
    const e = supcon(['eval', '--run', path.join(root, 'nope')]);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/nope does not exist: train first/);
  });
});
