/**
 * `supcon sweep` through the built bin, on the shipped Fashion-MNIST sample with tiny runs:
 * - `--list` prints the expanded runs; an invalid grid value exits 2 naming the key and value;
 * - `--index I` trains exactly run I, the same weights as `supcon train` of that run's config, and
 *   skips it once finished; SIGTERM during a run stops it after a step with a checkpoint (exit 3,
 *   status 'stopped'), and the rerun ends with the uninterrupted run's weights;
 * - the local pool (`--workers 2`) runs every run, retries a failing one up to `--attempts`,
 *   reports it with its error in results.json / results.csv without stopping the others, exits 1,
 *   and a rerun skips the finished runs; `--gather` rewrites the results from the folders alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tinyBase, writeSweepFile } from './sweep-fixtures';

const bin = path.join(__dirname, '..', 'dist', 'bin.js');
const root = mkdtempSync(path.join(tmpdir(), 'supcon-sweep-cli-'));

const base = tinyBase;
const sweepFile = (name: string, body: Record<string, unknown>, config: Record<string, unknown> = base) => writeSweepFile(root, name, body, { config });

function supcon(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const weights = (dir: string, name = 'epoch-0002') => readFileSync(path.join(dir, 'checkpoints', name, 'model.weights.bin'));
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

beforeAll(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npx nx build @supcon/cli)`);
});

describe('supcon sweep', () => {
  it('--list prints every run; an invalid value exits 2 naming the grid key and value', () => {
    const file = sweepFile('list', { grid: { 'loss.temperature': [0.1, 0.5], seed: [0, 1] } });
    const r = supcon(['sweep', '--config', file, '--list']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('4 runs (completions: 4)');
    expect(r.out).toMatch(/ {3}3 {2}loss\.temperature-0\.5_seed-1 {2}loss\.temperature=0\.5 seed=1/);
    const bad = supcon(['sweep', '--config', sweepFile('bad', { grid: { 'train.epochs': [1, 0] } }), '--list']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('run 1 (grid.train.epochs = 0): train.epochs:');
    expect(existsSync(path.join(root, 'bad', 'runs'))).toBe(false);
  });

  it('--index trains that run only, as `supcon train` would, and skips it once finished', () => {
    const file = sweepFile('index', { grid: { seed: [3, 4] } });
    const r = supcon(['sweep', '--config', file, '--index', '1']);
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/done: seed-4 .*probe \d+\.\d\d%/);
    const runs = path.join(root, 'index', 'runs');
    expect(readdirSync(runs).sort()).toEqual(['seed-4', 'status']);
    // The same config trained by `supcon train`: the same weights.
    const direct = path.join(root, 'index', 'direct.json');
    writeFileSync(direct, JSON.stringify({ ...base, seed: 4, name: 'direct', out: path.join(root, 'index', 'direct') }));
    expect(supcon(['train', '--config', direct, '--no-report']).code).toBe(0);
    expect(weights(path.join(runs, 'seed-4')).equals(weights(path.join(root, 'index', 'direct')))).toBe(true);
    const again = supcon(['sweep', '--config', file, '--index', '1']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('already finished: seed-4');
    expect(supcon(['sweep', '--config', file, '--index', '2']).err).toContain('--index 2: the sweep has runs 0 to 1');
  });

  it('SIGTERM stops a run after its current step with a checkpoint; the rerun ends as an uninterrupted run', async () => {
    // 8 steps per epoch: the stop comes mid-run, with steps left after the first epoch's checkpoint.
    const file = sweepFile('sigterm', { grid: { seed: [3] } }, { ...base, train: { epochs: 3, batchSize: 25 } });
    const runDir = path.join(root, 'sigterm', 'runs', 'seed-3');
    const child = spawn(process.execPath, [bin, 'sweep', '--config', file, '--index', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Wait for the first epoch's checkpoint, then ask it to stop.
    const deadline = Date.now() + 60_000;
    while (!existsSync(path.join(runDir, 'checkpoints', 'epoch-0001')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toContain('SIGTERM: finishing the current step');
    expect(code).toBe(3);
    expect(existsSync(path.join(runDir, 'summary.json'))).toBe(false);
    expect(json(path.join(root, 'sigterm', 'runs', 'status', 'seed-3.json'))).toMatchObject({ status: 'stopped', attempts: 1 });
    const stoppedAt = readdirSync(path.join(runDir, 'checkpoints')).filter((n) => !n.includes('.')).sort().pop()!;
    expect(stoppedAt).not.toBe('epoch-0003');

    expect(supcon(['sweep', '--config', file, '--index', '0']).code).toBe(0);
    expect(json(path.join(root, 'sigterm', 'runs', 'status', 'seed-3.json'))).toMatchObject({ status: 'done', attempts: 2 });
    const whole = path.join(root, 'sigterm', 'whole.json');
    writeFileSync(whole, JSON.stringify({ ...base, train: { epochs: 3, batchSize: 25 }, name: 'whole', out: path.join(root, 'sigterm', 'whole') }));
    expect(supcon(['train', '--config', whole, '--no-report']).code).toBe(0);
    expect(weights(runDir, 'epoch-0003').equals(weights(path.join(root, 'sigterm', 'whole'), 'epoch-0003'))).toBe(true);
  });

  it('--workers 2 runs them all, reports a failing run with its error after bounded retries, and skips finished runs on a rerun', () => {
    // A learning rate of 1e30 makes the weights infinite after the first step: the run stops with a
    // non-finite loss (exit 1), is retried once, and is reported failed while the others finish.
    const file = sweepFile('pool', { grid: { 'optimizer.learningRate': [0.05, 1e30], seed: [3, 4] } });
    const out = path.join(root, 'pool', 'runs');
    const r = supcon(['sweep', '--config', file, '--workers', '2', '--attempts', '2']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('running 4 runs in 2 worker process(es) of 1 thread(s) each');
    expect(r.err).toMatch(/failed \(exit 1, attempt 1 of 2\): retrying/);
    expect(r.out).toContain('4 runs: 2 done, 2 failed');
    const results = json(path.join(out, 'results.json')).runs as { id: string; status: string; error?: string; linearProbeTop1?: number; values: Record<string, unknown> }[];
    expect(results.map((x) => x.status)).toEqual(['done', 'done', 'failed', 'failed']);
    for (const x of results.slice(0, 2)) {
      const summary = json(path.join(out, x.id, 'summary.json'));
      expect(x.linearProbeTop1).toBe(summary.eval.linearProbe.top1);
      expect(summary.seed).toBe(x.values.seed);
    }
    expect(results[2]!.error).toContain('training diverged: the loss is not finite');
    expect(json(path.join(out, 'status', `${results[2]!.id}.json`)).attempts).toBe(2);
    const csv = readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(csv[0]).toBe('index,optimizer.learningRate,seed,status,linearProbe.top1,knn.top1,corruptionError,seconds,backend,error,id');
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);

    const rerun = supcon(['sweep', '--config', file, '--workers', '2', '--attempts', '1']);
    expect(rerun.out).toContain('2 of 4 runs already finished: skipped');
    expect(rerun.out).toContain('running 2 runs');
    const gathered = supcon(['sweep', '--config', file, '--gather']);
    expect(gathered.code).toBe(0);
    expect(gathered.out).toContain('4 runs: 2 done, 2 failed');
  });

  it('does not retry a run whose config is invalid when it starts (exit 2)', () => {
    // Valid on paper, refused when the run starts: the data folder is not there.
    const config = { ...base, data: { type: 'fashion-mnist', trainSize: 200, testSize: 100 } };
    const file = sweepFile('invalid', { grid: { 'data.root': [path.join(root, 'no-such-folder')] } }, config);
    const r = supcon(['sweep', '--config', file, '--attempts', '3']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('its config is invalid (exit 2), not retried');
    expect(r.err).toContain('no-such-folder');
    expect(r.err).not.toContain('retrying');
    const [row] = json(path.join(root, 'invalid', 'runs', 'results.json')).runs;
    expect(row.status).toBe('failed');
    expect(json(path.join(root, 'invalid', 'runs', 'status', `${row.id}.json`)).attempts).toBe(1);
  });
});
