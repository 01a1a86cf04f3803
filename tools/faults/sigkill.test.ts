/**
 * SIGKILL at 20 seeded moments of a tiny run of the built CLI (inside checkpoint writes, between
 * steps, while pruning, during evaluation, ...), each followed by `--resume` until the run
 * finishes: the final checkpoint must be byte-identical to an uninterrupted run's (checkpoint.json
 * but for its timings), and so must the evaluation, the epoch losses and metrics.jsonl (but for
 * timings). Deterministic moments use the runner's fault seam, SUPCON_FAULT_KILL_AT (see
 * packages/core/src/faults.ts); moments inside the evaluation are a parent's SIGKILL after a
 * seeded delay.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, TINY, baselineRun, checkpointDifferences, metricsWithoutTimings, pool, seeded, stableSummary, trainToTheEnd, writeConfig } from './harness';
import type { CliOptions, CliResult } from './harness';

interface Scenario {
  name: string;
  first: CliOptions;
  /** Options of the resumed runs, in order (a fault in a resumed run too). */
  later?: CliOptions[];
  /** How many runs in a row must die by SIGKILL before one finishes. */
  kills: number;
}

const SEED = Number(process.env.SUPCON_FAULTS_SEED ?? 20241);
const kill = (point: string, n: number): CliOptions => ({ env: { SUPCON_FAULT_KILL_AT: `${point}:${n}` } });

function scenarios(seed: number): Scenario[] {
  const r = seeded(seed);
  const writes = TINY.checkpoints * TINY.filesPerCheckpoint;
  const list: Scenario[] = [];
  const used = new Set<string>();
  /**
   * A moment `point:n` not chosen before, n from 1 to `count`; with `part` of `parts`, n is drawn
   * in that slice of the range, so that the moments of a point spread over the whole run.
   */
  const at = (point: string, count: number, part = 0, parts = 1): Scenario => {
    const [lo, hi] = [Math.floor((count * part) / parts), Math.floor((count * (part + 1)) / parts)];
    let n = 1 + lo + r(hi - lo);
    while (used.has(`${point}:${n}`)) n = (n % count) + 1;
    used.add(`${point}:${n}`);
    return { name: `${point}:${n}`, first: kill(point, n), kills: 1 };
  };
  // After each of the 5 files of a checkpoint once, in checkpoints spread over the run.
  for (let file = 0; file < TINY.filesPerCheckpoint; file++) {
    const checkpoint = Math.floor((TINY.checkpoints * file) / TINY.filesPerCheckpoint) + r(TINY.checkpoints / TINY.filesPerCheckpoint);
    const n = checkpoint * TINY.filesPerCheckpoint + file + 1;
    used.add(`checkpoint-write:${n}`);
    list.push({ name: `checkpoint-write:${n}`, first: kill('checkpoint-write', n), kills: 1 });
  }
  for (let i = 0; i < 4; i++) list.push(at('step', TINY.steps - 1, i, 4));
  for (let i = 0; i < 2; i++) list.push(at('checkpoint-saved', TINY.checkpoints, i, 2));
  // The tiny run removes 8 folders when it prunes (mid-epoch ones with their epoch, epoch-0001).
  list.push(at('prune', 8));
  list.push(at('epoch-end', TINY.epochs));
  list.push(at('eval', 1), at('eval-done', 1), at('summary', 1));
  if (new Set(list.map((c) => c.name)).size !== list.length) throw new Error('fault moments must be distinct');
  // Inside the linear probe: a parent's kill a seeded few milliseconds after it starts.
  for (let i = 0; i < 2; i++) {
    const delayMs = r(80);
    list.push({ name: `parent kill ${delayMs} ms into the evaluation`, first: { killAfter: { line: /evaluating: linearProbe/, delayMs } }, kills: 1 });
  }
  // Twice in a row: the resumed run is killed as well.
  const [w, s1] = [1 + r(writes), 1 + r(3)];
  list.push({ name: `checkpoint-write:${w}, then step:${s1} of the resumed run`, first: kill('checkpoint-write', w), later: [kill('step', s1)], kills: 2 });
  const [s2, w2] = [1 + r(TINY.steps - 1), 1 + r(TINY.filesPerCheckpoint)];
  list.push({ name: `step:${s2}, then checkpoint-write:${w2} of the resumed run`, first: kill('step', s2), later: [kill('checkpoint-write', w2)], kills: 2 });
  return list;
}

const root = mkdtempSync(path.join(tmpdir(), 'supcon-faults-kill-'));
const configFile = writeConfig(root);
let baselineDir = '';
const cases = scenarios(SEED);
const outcomes = new Map<string, { dir: string; attempts: CliResult[] }>();
const concurrency = Number(process.env.SUPCON_FAULTS_CONCURRENCY ?? Math.max(1, Math.min(2, availableParallelism())));

const describeAttempts = (attempts: CliResult[]) =>
  attempts.map((a, i) => `#${i}: code ${a.code} signal ${a.signal}${a.code ? `\n${a.stderr.trim().split('\n').slice(-6).join('\n')}` : ''}`).join('\n');

beforeAll(async () => {
  const started = Date.now();
  const jobs = [
    async () => {
      baselineDir = await baselineRun();
    },
    ...cases.map((c, i) => async () => {
      const dir = path.join(root, `case-${String(i).padStart(2, '0')}`);
      outcomes.set(c.name, { dir, attempts: await trainToTheEnd(configFile, dir, c.first, c.later) });
    }),
  ];
  await pool(jobs, concurrency);
  console.log(`fault suite (seed ${SEED}): ${cases.length} killed runs and their resumes in ${((Date.now() - started) / 1000).toFixed(1)} s on ${concurrency} process(es); ${BIN}`);
}, 1_200_000);

// The runs' folders go unless SUPCON_FAULTS_KEEP is set (to look at a failure).
afterAll(() => {
  if (!process.env.SUPCON_FAULTS_KEEP) rmSync(root, { recursive: true, force: true });
});

describe(`SIGKILL at ${cases.length} seeded moments (seed ${SEED}), then --resume until the run finishes`, () => {
  it('the uninterrupted run wrote its final checkpoint and summary', () => {
    expect(readdirSync(path.join(baselineDir, 'checkpoints')).sort()).toEqual(['epoch-0002', TINY.final]);
    expect(stableSummary(baselineDir).steps).toBe(TINY.steps);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { dir, attempts } = outcomes.get(c.name)!;
    const log = describeAttempts(attempts);
    // Killed where asked, then finished.
    for (let k = 0; k < c.kills; k++) expect({ attempt: k, signal: attempts[k]?.signal, log }).toMatchObject({ signal: 'SIGKILL' });
    expect({ code: attempts[attempts.length - 1].code, log }).toMatchObject({ code: 0 });
    if (c.first.killAfter) expect(attempts[0].killedByParent).toBe(true);
    // The final checkpoint, byte for byte; the folders kept; the run folder's files.
    expect(checkpointDifferences(path.join(dir, 'checkpoints', TINY.final), path.join(baselineDir, 'checkpoints', TINY.final))).toEqual([]);
    expect(readdirSync(path.join(dir, 'checkpoints')).sort()).toEqual(readdirSync(path.join(baselineDir, 'checkpoints')).sort());
    expect(readdirSync(dir).sort()).toEqual(readdirSync(baselineDir).sort());
    // Evaluation and losses, and every metrics line but for timings.
    expect(stableSummary(dir)).toEqual(stableSummary(baselineDir));
    expect(metricsWithoutTimings(dir)).toEqual(metricsWithoutTimings(baselineDir));
  });
});
