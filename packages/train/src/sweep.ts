/**
 * Sweeps: a sweep file names a base config and a grid (or a seeded random sample of it) of
 * values at config paths; `expandSweep` turns it into runs, each with a stable id and folder
 * (`<out>/<id>`), and `runSweepEntry` trains one of them in this process (the index mode that
 * `supcon sweep --index I`, the local worker pool and BullMQ workers all end in). What a sweep
 * run did is in its run folder (summary.json) and in `<out>/status/<id>.json`, so results never
 * depend on a queue: `gatherSweep` reads them back from the folders alone.
 *
 *   base: ./fashion-mnist-quick.yaml     # or an inline `config:` object
 *   grid:
 *     loss.temperature: [0.05, 0.1, 0.5]
 *     seed: [0, 1, 2]
 *   out: runs/sweep-temperature
 *
 * Node only.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { createRegistry, loadConfigFile, SupconConfigError, SupconRunStoppedError, validateConfig, writeFileAtomic } from '@supcon/core';
import type { ConfigIssue, ResolveOptions, RunSummary } from '@supcon/core';
import { builtinDefaults, builtinPlugins } from './builtins';
import { nodePlatform } from './node';
import { trainOn } from './run';
import type { TrainOptions } from './run';

/** A grid key and the values it takes, in the sweep file's order. */
export interface SweepAxis {
  key: string;
  values: readonly unknown[];
}

/** A sweep file, read and checked (`loadSweep`). */
export interface Sweep {
  /** The sweep file (absolute), when it came from one. */
  file?: string;
  /** The sweep's name: the file's `name`, else the file name without extension. */
  name: string;
  /** The base config, raw (plugins loaded): from `base` (a config file) or the inline `config`. */
  base: Record<string, unknown>;
  /** The base config file (absolute), when `base` named one. */
  baseFile?: string;
  grid: SweepAxis[];
  /**
   * One at a time, as the paper's stability study: for each grid point, the base run and then,
   * for each key, a run per value with every other key left as the base has it (a value equal to
   * the base's is not run twice).
   */
  vary?: SweepAxis[];
  /** Sample this many distinct grid points (seeded) instead of taking every combination. */
  random?: { n: number; seed: number };
  /** Where the runs go (absolute): `<out>/<run id>/` each, and the results files. */
  out: string;
}

/** One expanded run of a sweep. */
export interface SweepRun {
  /** Position in the expansion, from 0: `supcon sweep --index I`, `JOB_COMPLETION_INDEX`. */
  index: number;
  /** Stable: made from the run's values (`loss.temperature-0.05_seed-0`), the same on every machine. */
  id: string;
  /** The value of each grid and `vary` key in this run (a `vary` key the run leaves alone: the base's value, undefined where the base has none). */
  values: Record<string, unknown>;
  /** The `vary` key this run changes; undefined for a grid point's base run (and in sweeps without `vary`). */
  varied?: string;
  /** The base config with the values set, `out` set to `dir` and `name` to the id. */
  config: Record<string, unknown>;
  /** The run folder (absolute): `<sweep out>/<id>`. */
  dir: string;
}

/** `<out>/status/<id>.json`: what happened to a run, written by whoever ran it. */
export interface SweepRunStatus {
  id: string;
  index: number;
  values: Record<string, unknown>;
  status: 'running' | 'done' | 'failed' | 'stopped';
  /** The error's message when it failed. */
  error?: string;
  /** How many times a process started this run. */
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  host: string;
  pid: number;
}

/** One row of results.json / results.csv. */
export interface SweepResult {
  index: number;
  id: string;
  values: Record<string, unknown>;
  varied?: string;
  /** done: summary.json is there; failed / stopped / running: the status file says so; pending: never started. */
  status: 'done' | 'failed' | 'stopped' | 'running' | 'pending';
  error?: string;
  linearProbeTop1?: number;
  knnTop1?: number;
  /** The corruption evaluator's mean error over corruptions and severities (%), when it ran. */
  corruptionError?: number;
  seconds?: number;
  backend?: string;
  dir: string;
}

const SWEEP_KEYS = ['name', 'base', 'config', 'grid', 'vary', 'random', 'out'];
const STATUS_DIR = 'status';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

/**
 * Reads and checks a sweep file (`.yaml`, `.yml`, `.json`, or a `.ts`/`.js` module exporting the
 * object). `base` is resolved from the sweep file's folder, `out` from the current folder (as a
 * config's `out`). Every expanded run is validated before this returns: an error names the grid
 * key and value of each run that is invalid, and the config path.
 * @throws SupconConfigError naming the sweep file's key (`grid.loss.temperature`, `random.n`, ...).
 */
export async function loadSweep(file: string, options: Pick<TrainOptions, 'plugins' | 'defaults'> = {}): Promise<Sweep> {
  const absolute = path.resolve(file);
  const source = path.relative(process.cwd(), absolute) || absolute;
  const raw = await loadConfigFile(absolute);
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(raw)) if (!SWEEP_KEYS.includes(key)) issues.push({ path: key, message: `unknown sweep key. Known keys: ${SWEEP_KEYS.join(', ')}` });
  let base: Record<string, unknown> | undefined;
  let baseFile: string | undefined;
  if (raw.base !== undefined && raw.config !== undefined) issues.push({ path: 'config', message: 'give either base (a config file) or config (an inline config object), not both' });
  else if (typeof raw.base === 'string') {
    baseFile = path.resolve(path.dirname(absolute), raw.base);
    try {
      base = await loadConfigFile(baseFile);
    } catch (error) {
      issues.push({ path: 'base', message: error instanceof Error ? error.message.replace(/\n\s*/g, ' ') : String(error) });
    }
  } else if (raw.base !== undefined) issues.push({ path: 'base', message: `expected the path of a config file, got ${show(raw.base)}` });
  else if (isRecord(raw.config)) {
    if (Array.isArray(raw.config.plugins) && raw.config.plugins.some((p) => typeof p === 'string')) {
      issues.push({ path: 'config.plugins', message: 'plugins given as module names belong in a base config file (base: ./my-config.yaml)' });
    } else base = raw.config;
  } else if (raw.config !== undefined) issues.push({ path: 'config', message: `expected a config object, got ${show(raw.config)}` });
  else issues.push({ path: 'base', message: 'missing: name a config file (base: ./config.yaml) or give an inline config (config: {...})' });

  const axes = (field: 'grid' | 'vary'): SweepAxis[] => {
    const list: SweepAxis[] = [];
    const value = raw[field];
    if (value !== undefined && !isRecord(value)) issues.push({ path: field, message: `expected an object of config path: [values], got ${show(value)}` });
    for (const [key, values] of Object.entries(isRecord(value) ? value : {})) {
      if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(key)) issues.push({ path: `${field}.${key}`, message: 'expected a config path of names joined by dots (loss.temperature)' });
      else if (key === 'out' || key === 'name') issues.push({ path: `${field}.${key}`, message: `a sweep sets each run's ${key} itself (<out>/<run id>)` });
      else if (!Array.isArray(values) || values.length === 0) issues.push({ path: `${field}.${key}`, message: `expected a non-empty list of values, got ${show(values)}` });
      else list.push({ key, values });
    }
    return list;
  };
  const grid = axes('grid');
  const vary = axes('vary');
  for (const { key } of vary) if (grid.some((a) => a.key === key)) issues.push({ path: `vary.${key}`, message: 'is also a grid key: give it in one of grid and vary' });
  let random: Sweep['random'];
  if (raw.random !== undefined) {
    const r = raw.random;
    if (!isRecord(r)) issues.push({ path: 'random', message: `expected { n, seed }, got ${show(r)}` });
    else {
      const n = r.n;
      const seed = r.seed ?? 0;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) issues.push({ path: 'random.n', message: `expected an integer >= 1, got ${show(n)}` });
      if (typeof seed !== 'number' || !Number.isInteger(seed)) issues.push({ path: 'random.seed', message: `expected an integer, got ${show(seed)}` });
      for (const k of Object.keys(r)) if (k !== 'n' && k !== 'seed') issues.push({ path: `random.${k}`, message: 'unknown key. Known keys: n, seed' });
      if (typeof n === 'number' && typeof seed === 'number') random = { n, seed };
    }
  }
  if (typeof raw.out !== 'string' || raw.out.trim() === '') issues.push({ path: 'out', message: `expected the sweep's folder (out: runs/my-sweep), got ${show(raw.out)}` });
  if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name === '')) issues.push({ path: 'name', message: `expected a string, got ${show(raw.name)}` });
  if (issues.length || !base) throw new SupconConfigError(issues, source);
  // A grid key inside a part the base leaves to the defaults (optimizer.learningRate with no
  // optimizer) sets it in the default part, not in an empty one.
  const defaults = (options.defaults ?? builtinDefaults) as Record<string, unknown>;
  for (const { key } of [...grid, ...vary]) {
    const slot = key.split('.')[0]!;
    if (key.includes('.') && base[slot] === undefined && isRecord(defaults[slot])) base = { ...base, [slot]: defaults[slot] };
  }
  const sweep: Sweep = {
    file: absolute,
    name: typeof raw.name === 'string' ? raw.name : path.basename(absolute).replace(/\.[^.]+$/, ''),
    base,
    ...(baseFile ? { baseFile } : {}),
    grid,
    vary,
    ...(random ? { random } : {}),
    out: path.resolve(raw.out as string),
  };
  checkSweep(sweep, options, source);
  return sweep;
}

/** Validates every expanded run's config; one error lists each invalid run by its grid values. */
export function checkSweep(sweep: Sweep, options: Pick<TrainOptions, 'plugins' | 'defaults'> = {}, source?: string): SweepRun[] {
  const issues: ConfigIssue[] = [];
  let runs: SweepRun[];
  try {
    runs = expandSweep(sweep);
  } catch (error) {
    if (error instanceof SupconConfigError) throw new SupconConfigError(error.issues, source);
    throw error;
  }
  const defaults: ResolveOptions['defaults'] = options.defaults ?? builtinDefaults;
  for (const run of runs) {
    const result = validateConfig(run.config, createRegistry(options.plugins ?? builtinPlugins), { defaults });
    if (result.success) continue;
    const where = Object.entries(run.values)
      .map(([k, v]) => `grid.${k} = ${show(v)}`)
      .join(', ');
    for (const issue of result.issues) issues.push({ path: `run ${run.index} (${where || 'the base config'})`, message: `${issue.path}: ${issue.message}` });
  }
  if (issues.length) throw new SupconConfigError(issues, source);
  return runs;
}

/**
 * Every grid point (last key fastest), or `random.n` distinct ones drawn with `random.seed`, in a
 * fixed order; with `vary`, each point's base run followed by its one-at-a-time variations.
 */
export function expandSweep(sweep: Sweep): SweepRun[] {
  const sizes = sweep.grid.map((a) => a.values.length);
  const total = sizes.reduce((a, b) => a * b, 1);
  let points: number[] = Array.from({ length: total }, (_, i) => i);
  if (sweep.random && sweep.random.n < total) {
    const rand = mulberry32(sweep.random.seed);
    // A partial Fisher-Yates: the first n of a seeded shuffle, then in grid order.
    for (let i = 0; i < sweep.random.n; i++) {
      const j = i + Math.floor(rand() * (total - i));
      [points[i], points[j]] = [points[j]!, points[i]!];
    }
    points = points.slice(0, sweep.random.n).sort((a, b) => a - b);
  }
  const gridPoints = points.map((point) => {
    const values: Record<string, unknown> = {};
    let rest = point;
    for (let k = sweep.grid.length - 1; k >= 0; k--) {
      const axis = sweep.grid[k]!;
      values[axis.key] = axis.values[rest % axis.values.length];
      rest = Math.floor(rest / axis.values.length);
    }
    return Object.fromEntries(sweep.grid.map((a) => [a.key, values[a.key]]));
  });
  // Each grid point: its base run, then one run per `vary` value that differs from the base's.
  const vary = sweep.vary ?? [];
  const baseValues = Object.fromEntries(vary.map((a) => [a.key, getPath(sweep.base, a.key)]));
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const planned: { set: Record<string, unknown>; values: Record<string, unknown>; varied?: string; id: string }[] = [];
  for (const g of gridPoints) {
    planned.push({ set: g, values: { ...g, ...baseValues }, id: !vary.length ? readableId(g) : Object.keys(g).length ? `base_${readableId(g)}` : 'base' });
    for (const axis of vary) {
      for (const v of axis.values) {
        if (same(v, baseValues[axis.key])) continue;
        planned.push({ set: { ...g, [axis.key]: v }, values: { ...g, ...baseValues, [axis.key]: v }, varied: axis.key, id: readableId({ [axis.key]: v, ...g }) });
      }
    }
  }
  // Ids must be unique: where two readable ids collide (a/b and a_b), both get a hash of their values.
  const seen = new Map<string, number>();
  for (const r of planned) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
  return planned.map((r, index) => {
    const id = (seen.get(r.id) ?? 0) > 1 || r.id.length > 120 ? `${r.id.slice(0, 100)}-${hash(r.set)}` : r.id;
    const dir = path.join(sweep.out, id);
    let config = sweep.base;
    for (const [key, value] of Object.entries(r.set)) config = setPath(config, key, value);
    return { index, id, values: r.values, ...(r.varied ? { varied: r.varied } : {}), dir, config: { ...config, name: id, out: dir } };
  });
}

/** The value at a dotted path (a part given as a type name counts as `{ type }`); undefined where there is none. */
function getPath(config: Record<string, unknown>, key: string): unknown {
  let node: unknown = config;
  for (const [i, name] of key.split('.').entries()) {
    if (typeof node === 'string' && i === 1) node = { type: node };
    if (!isRecord(node)) return undefined;
    node = node[name];
  }
  return node;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Canonical JSON (sorted keys) of a value, hashed to 8 hex digits. */
function hash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical(v[k])]),
        )
      : Array.isArray(v)
        ? v.map(canonical)
        : v;
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 8);
}

/** `loss.temperature-0.05_seed-0`; an object value by its `type` (and a hash of the rest), a list by a hash. */
function readableId(values: Record<string, unknown>): string {
  const entries = Object.entries(values);
  if (!entries.length) return 'run';
  const part = (v: unknown): string => {
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
    if (typeof v === 'string') return v;
    if (isRecord(v) && typeof v.type === 'string') return Object.keys(v).length === 1 ? v.type : `${v.type}-${hash(v)}`;
    return hash(v);
  };
  return entries.map(([k, v]) => `${k}-${part(v)}`.replace(/[^A-Za-z0-9.+-]+/g, '-')).join('_');
}

/** A copy of `config` with `value` at the dotted `key`: objects on the path are copied, the rest shared (plugin objects stay as they are). */
function setPath(config: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const names = key.split('.');
  const out: Record<string, unknown> = { ...config };
  let node = out;
  for (let i = 0; i < names.length - 1; i++) {
    const name = names[i]!;
    const next = node[name];
    if (next === undefined) node[name] = {};
    else if (typeof next === 'string' && i === 0) node[name] = { type: next };
    else if (!isRecord(next)) {
      throw new SupconConfigError([{ path: `grid.${key}`, message: `cannot set ${key}: the base config's ${names.slice(0, i + 1).join('.')} is ${show(next)}, not an object` }]);
    } else node[name] = { ...next };
    node = node[name] as Record<string, unknown>;
  }
  node[names[names.length - 1]!] = value;
  return out;
}

const statusFile = (sweep: Sweep, id: string): string => path.join(sweep.out, STATUS_DIR, `${id}.json`);

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The run's summary.json, when it finished. */
export function sweepRunSummary(run: SweepRun): RunSummary | undefined {
  return readJson<RunSummary>(path.join(run.dir, 'summary.json'));
}

export interface SweepEntryOptions extends Omit<TrainOptions, 'out' | 'resume' | 'overwrite'> {
  /** Called when the run is skipped because its folder already holds summary.json. */
  onSkip?: (run: SweepRun) => void;
}

export interface SweepEntryResult {
  run: SweepRun;
  /** skipped: it had finished before. */
  status: 'done' | 'skipped';
  summary: RunSummary;
}

/**
 * Trains run `index` of the sweep in this process: skipped when its folder holds summary.json,
 * resumed from its last checkpoint when it has one (a killed worker's run continues there), else
 * started. `<out>/status/<id>.json` records the attempt and its end (done, failed with the error,
 * or stopped by `options.signal`).
 * @throws RangeError naming the index when it is not in the sweep; what `train()` throws.
 */
export async function runSweepEntry(sweep: Sweep, index: number, options: SweepEntryOptions = {}): Promise<SweepEntryResult> {
  const runs = expandSweep(sweep);
  const run = runs[index];
  if (!Number.isInteger(index) || !run) throw new RangeError(`--index ${index}: the sweep ${sweep.name} has runs 0 to ${runs.length - 1}`);
  const done = sweepRunSummary(run);
  if (done) {
    options.onSkip?.(run);
    return { run, status: 'skipped', summary: done };
  }
  mkdirSync(path.join(sweep.out, STATUS_DIR), { recursive: true });
  const previous = readJson<SweepRunStatus>(statusFile(sweep, run.id));
  const status: SweepRunStatus = { id: run.id, index: run.index, values: run.values, status: 'running', attempts: (previous?.attempts ?? 0) + 1, startedAt: new Date().toISOString(), host: hostname(), pid: process.pid };
  const write = (s: SweepRunStatus) => writeFileAtomic(statusFile(sweep, run.id), `${JSON.stringify(s, null, 2)}\n`);
  await write(status);
  const { onSkip: _onSkip, ...trainOptions } = options;
  try {
    const { summary } = await trainOn(nodePlatform, run.config, { ...trainOptions, resume: true });
    await write({ ...status, status: 'done', finishedAt: new Date().toISOString() });
    return { run, status: 'done', summary };
  } catch (error) {
    const stopped = error instanceof SupconRunStoppedError;
    await write({ ...status, status: stopped ? 'stopped' : 'failed', error: error instanceof Error ? error.message : String(error), finishedAt: new Date().toISOString() });
    throw error;
  }
}

/** Each run's row, read from its folder and status file alone (no queue needed). */
export function gatherSweep(sweep: Sweep): SweepResult[] {
  return expandSweep(sweep).map((run) => {
    const summary = sweepRunSummary(run);
    const base = { index: run.index, id: run.id, values: run.values, ...(run.varied ? { varied: run.varied } : {}), dir: run.dir };
    if (summary) {
      const ev = (summary.eval ?? {}) as Record<string, { top1?: number; meanError?: number } | undefined>;
      const s = summary as RunSummary & { wallTimeSeconds?: number; backend?: string };
      return {
        ...base,
        status: 'done' as const,
        ...(typeof ev.linearProbe?.top1 === 'number' ? { linearProbeTop1: ev.linearProbe.top1 } : {}),
        ...(typeof ev.knn?.top1 === 'number' ? { knnTop1: ev.knn.top1 } : {}),
        ...(typeof ev.corruption?.meanError === 'number' ? { corruptionError: ev.corruption.meanError } : {}),
        ...(typeof (s.wallTimeSeconds ?? s.seconds) === 'number' ? { seconds: (s.wallTimeSeconds ?? s.seconds) as number } : {}),
        ...(typeof s.backend === 'string' ? { backend: s.backend } : {}),
      };
    }
    const status = readJson<SweepRunStatus>(statusFile(sweep, run.id));
    if (!status) return { ...base, status: 'pending' as const };
    return { ...base, status: status.status === 'done' ? ('running' as const) : status.status, ...(status.error ? { error: status.error } : {}) };
  });
}

/** One CSV field: quoted when it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  const text = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** results.csv: a column per grid key, then status, linearProbe.top1, knn.top1, corruptionError, seconds, backend, error, id. */
export function sweepResultsCsv(sweep: Sweep, results: readonly SweepResult[]): string {
  const keys = [...sweep.grid, ...(sweep.vary ?? [])].map((a) => a.key);
  const header = ['index', ...keys, 'status', 'linearProbe.top1', 'knn.top1', 'corruptionError', 'seconds', 'backend', 'error', 'id'];
  const rows = results.map((r) => [r.index, ...keys.map((k) => r.values[k]), r.status, r.linearProbeTop1, r.knnTop1, r.corruptionError, r.seconds, r.backend, r.error, r.id].map(csvField).join(','));
  return `${[header.map(csvField).join(','), ...rows].join('\n')}\n`;
}

/** Writes `<out>/results.json` and `<out>/results.csv` (atomically) and returns the rows. */
export async function writeSweepResults(sweep: Sweep, results: readonly SweepResult[] = gatherSweep(sweep)): Promise<{ json: string; csv: string; results: readonly SweepResult[] }> {
  mkdirSync(sweep.out, { recursive: true });
  const json = path.join(sweep.out, 'results.json');
  const csv = path.join(sweep.out, 'results.csv');
  await writeFileAtomic(json, `${JSON.stringify({ sweep: sweep.name, file: sweep.file ?? null, grid: sweep.grid, vary: sweep.vary ?? [], runs: results }, null, 2)}\n`);
  await writeFileAtomic(csv, sweepResultsCsv(sweep, results));
  return { json, csv, results };
}

/** The run folders under `out` that this sweep does not expand to (left alone; listed so a user sees them). */
export function strayRunFolders(sweep: Sweep): string[] {
  if (!existsSync(sweep.out)) return [];
  const ids = new Set(expandSweep(sweep).map((r) => r.id));
  return readdirSync(sweep.out, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== STATUS_DIR && !ids.has(d.name) && existsSync(path.join(sweep.out, d.name, 'config.json')))
    .map((d) => d.name);
}
