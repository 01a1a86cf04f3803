/**
 * The run folder: which names in it belong to a run (one list, `RUN_FILES`), and the decision a
 * run makes before it writes anything: start in a new or empty folder, resume the run that is
 * there (with the same config), or overwrite it, removing only what a run writes.
 */
import type { ResolvedConfig } from './config';
import type { Logger } from './parts';
import type { RunStorage } from './storage/types';
import { joinPath, readText } from './storage/types';
import { tempTargetName } from './temp-names';
import { latestCheckpointIn } from './checkpoint/checkpoint';
import { END_OF_RUN_FILES, LEFTOVER, RUN_FILE, RUN_FILES, isRunFile } from './run-layout';

export { RUN_FILE, RUN_FILES, isRunFile } from './run-layout';

/**
 * Keys of config.json that may differ when a run resumes, as they do not change what is computed:
 * where it is written, how many threads compute it (the same computation, to the bit: supcon's
 * wasm kernels cut their sums into groups fixed by the shape, not by the threads; @supcon/train's
 * threads test resumes a run on another count), its label, how often
 * mid-epoch checkpoints are taken, and the evaluators, which run on the trained encoder after the
 * last epoch and so cannot change the weights (the summary then holds the new evaluators' results,
 * as `supcon eval` would write). (`train.epochs` may also grow.)
 */
export const RESUME_MAY_CHANGE: readonly string[] = ['out', 'threads', 'name', 'checkpoint', 'eval', '$schema'];

/** config.json as the runner writes it: the resolved config with plugins as `{ name, version }`. */
export function serializableConfig(config: ResolvedConfig): Record<string, unknown> {
  return { ...config, plugins: config.plugins.map((p) => ({ name: p.name, version: p.version ?? null })) };
}

/** One difference between a run's config.json and the config it is resumed with. */
export interface ConfigChange {
  /** Dotted path: `train.batchSize`, `loss.temperature`, `eval[1].k`. */
  path: string;
  /** The value in config.json (undefined: not set there). */
  before: unknown;
  /** The value now (undefined: not set). */
  after: unknown;
}

export type RunFolderProblem = 'not-empty' | 'config-changed' | 'not-a-folder' | 'conflicting-options' | 'unreadable-config';

/** Why a run refused to start in its folder; nothing was written. */
export class SupconRunFolderError extends Error {
  override name = 'SupconRunFolderError';
  constructor(
    message: string,
    /** The run folder (absolute). */
    readonly dir: string,
    readonly problem: RunFolderProblem,
    /** For 'config-changed': every key that differs. */
    readonly changes: readonly ConfigChange[] = [],
  ) {
    super(message);
  }
}

function leaves(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (Array.isArray(value) && value.length) {
    value.forEach((v, i) => leaves(v, `${prefix}[${i}]`, out));
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out.set(prefix, value);
  }
}

/**
 * Every leaf that differs between two configs (as JSON: a key set to undefined is not set), in
 * the order of `before` then the keys only `after` has.
 */
export function configChanges(before: unknown, after: unknown): ConfigChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  leaves(JSON.parse(JSON.stringify(before ?? {})), '', a);
  leaves(JSON.parse(JSON.stringify(after ?? {})), '', b);
  const changes: ConfigChange[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (JSON.stringify(a.get(key)) !== JSON.stringify(b.get(key))) changes.push({ path: key, before: a.get(key), after: b.get(key) });
  }
  return changes;
}

/** Whether a changed key may differ on resume: `RESUME_MAY_CHANGE` (and below), or `train.epochs` growing. */
function mayChange(change: ConfigChange): boolean {
  if (RESUME_MAY_CHANGE.some((k) => change.path === k || change.path.startsWith(`${k}.`) || change.path.startsWith(`${k}[`))) return true;
  if (change.path === 'train.epochs') return typeof change.before === 'number' && typeof change.after === 'number' && change.after >= change.before;
  return false;
}

function show(value: unknown): string {
  if (value === undefined) return '(not set)';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export interface RunFolderOptions {
  /** Continue from the folder's latest checkpoint (true) or from this checkpoint (a path in the storage). */
  resume?: boolean | string;
  /** Start afresh in a folder that holds a run (or other files), removing the run's files first. */
  overwrite?: boolean;
  /** The config the run will use: compared with the folder's config.json on resume. */
  config: ResolvedConfig;
}

/** What `planRunFolder` decided. */
export interface RunFolderPlan {
  /** Where the run is (`storage.location`). */
  dir: string;
  storage: RunStorage;
  /** The checkpoint to resume from (a path in the storage); undefined: the run starts afresh. */
  checkpointDir: string | undefined;
  /** Names in the folder a run wrote, which a fresh start removes (with `overwrite`, or `resume` without a checkpoint). */
  remove: string[];
}

const notEmptyHint = 'pass --resume to continue the run there, or --overwrite to start again (it removes only the files a run writes: ' + RUN_FILES.join(', ') + '), or choose a new or empty folder';

/**
 * Decides, without writing anything, how a run starts in `storage`, and refuses (with a
 * `SupconRunFolderError`) what would destroy anything or mix two runs:
 *
 * - neither `resume` nor `overwrite`: the folder must be missing or empty;
 * - `overwrite`: the run-owned names (`RUN_FILES`) will be removed, every other file stays;
 * - `resume` with a checkpoint: the config must equal the folder's config.json but for
 *   `RESUME_MAY_CHANGE` and a larger `train.epochs`; the error lists every other changed key;
 * - `resume` without a checkpoint: starts afresh, provided the folder holds nothing but a run's files.
 */
export async function planRunFolderIn(storage: RunStorage, options: RunFolderOptions): Promise<RunFolderPlan> {
  const dir = storage.location;
  if (options.resume && options.overwrite) {
    throw new SupconRunFolderError(`resume and overwrite exclude each other: pass one of them (run folder ${dir})`, dir, 'conflicting-options');
  }
  const kind = await storage.kind('');
  if (kind === 'file') throw new SupconRunFolderError(`the run folder ${dir} is a file, not a folder: choose another --out`, dir, 'not-a-folder');
  const names = kind === 'folder' ? await storage.list('') : [];
  const owned = names.filter(isRunFile);
  const others = names.filter((n) => !isRunFile(n));
  const listed = (list: string[]) => list.slice(0, 5).join(', ') + (list.length > 5 ? `, ... (${list.length} in all)` : '');

  if (options.resume) {
    const checkpointDir = typeof options.resume === 'string' ? options.resume : await latestCheckpointIn(storage);
    if (checkpointDir) {
      const configFile = RUN_FILE.config;
      const shown = storage.describe(configFile);
      if ((await storage.kind(configFile)) === 'file') {
        let before: unknown;
        try {
          before = JSON.parse((await readText(storage, configFile)) ?? '');
        } catch (error) {
          throw new SupconRunFolderError(
            `cannot resume the run in ${dir}: ${shown} is not readable (${(error as Error).message}); pass --overwrite to start again`,
            dir,
            'unreadable-config',
          );
        }
        const changes = configChanges(before, serializableConfig(options.config)).filter((c) => !mayChange(c));
        if (changes.length) {
          throw new SupconRunFolderError(
            `cannot resume the run in ${dir}: the config differs from its config.json in ${changes.length === 1 ? '1 key' : `${changes.length} keys`}:\n` +
              changes.map((c) => `  ${c.path}: ${show(c.before)} → ${show(c.after)}`).join('\n') +
              `\nResume with the run's config (only train.epochs may grow, and ${RESUME_MAY_CHANGE.filter((k) => k !== '$schema').join(', ')} may differ), ` +
              'or start a new run: pass --overwrite to replace this one, or another --out.',
            dir,
            'config-changed',
            changes,
          );
        }
      }
      return { dir, storage, checkpointDir, remove: [] };
    }
    if (others.length) {
      throw new SupconRunFolderError(
        `cannot resume in ${dir}: it holds no checkpoint, and it holds files that are not a run's (${listed(others)}); ` +
          'pass --overwrite to start a run there anyway (it removes only the files a run writes), or choose a new or empty folder',
        dir,
        'not-empty',
      );
    }
    return { dir, storage, checkpointDir: undefined, remove: owned };
  }
  if (options.overwrite) return { dir, storage, checkpointDir: undefined, remove: owned };
  if (names.length) {
    const what = owned.length ? `holds a run (${listed(owned)})` : `is not empty (${listed(others)})`;
    throw new SupconRunFolderError(`the run folder ${dir} ${what}: ${notEmptyHint}`, dir, 'not-empty');
  }
  return { dir, storage, checkpointDir: undefined, remove: [] };
}

/** Removes the checkpoints (folders with a checkpoint.json) and checkpoint leftovers in `dir`; keeps anything else. */
async function removeCheckpoints(storage: RunStorage, dir: string, logger: Logger): Promise<void> {
  const kind = await storage.kind(dir);
  if (kind === 'missing') return;
  if (kind === 'file') return storage.remove(dir);
  const kept: string[] = [];
  for (const name of await storage.list(dir)) {
    const file = joinPath(dir, name);
    if (LEFTOVER.test(name) || (await storage.kind(joinPath(file, 'checkpoint.json'))) === 'file') await storage.remove(file);
    else kept.push(name);
  }
  if (kept.length) logger.warn(`kept ${kept.length} entries in ${storage.describe(dir)} that are not checkpoints: ${kept.join(', ')}`);
  else await storage.remove(dir);
}

/**
 * Removes temporary and superseded checkpoint folders left by an interrupted write: every
 * `*.tmp-*`, and every `*.old-*` whose checkpoint is complete (an `.old-*` without one is what
 * `loadCheckpoint` falls back to, so it stays).
 */
export async function removeCheckpointLeftovers(storage: RunStorage, dir: string): Promise<string[]> {
  if ((await storage.kind(dir)) !== 'folder') return [];
  const removed: string[] = [];
  for (const name of await storage.list(dir)) {
    const m = LEFTOVER.exec(name);
    if (!m) continue;
    if (m[2] === 'old' && (await storage.kind(joinPath(dir, m[1], 'checkpoint.json'))) !== 'file') continue;
    await storage.remove(joinPath(dir, name));
    removed.push(name);
  }
  return removed;
}

/**
 * Carries out a plan of `planRunFolder`: creates the folder; on a fresh start removes the run
 * files listed in `plan.remove` (inside checkpoints/, only checkpoints); on resume removes
 * temporary files of interrupted writes (`<run file>.tmp-*`, `checkpoints/*.tmp-*`) and the
 * end-of-run files (summary.json, embedding-map.json, report.html), which would be stale.
 */
export async function prepareRunFolder(plan: RunFolderPlan, logger: Logger): Promise<void> {
  const { dir, storage } = plan;
  await storage.makeFolder('');
  if (!plan.checkpointDir) {
    if (plan.remove.length) logger.warn(`removing the earlier run's files in ${dir}: ${plan.remove.join(', ')}`);
    for (const name of plan.remove) {
      if (name === RUN_FILE.checkpoints) await removeCheckpoints(storage, name, logger);
      else await storage.remove(name);
    }
    return;
  }
  const stale = (await storage.list('')).filter((n) => tempTargetName(n) !== undefined && isRunFile(n));
  for (const name of stale) await storage.remove(name);
  const leftovers = await removeCheckpointLeftovers(storage, RUN_FILE.checkpoints);
  const removed = [...stale, ...leftovers.map((n) => `${RUN_FILE.checkpoints}/${n}`)];
  if (removed.length) logger.info(`removed leftovers of an interrupted write in ${dir}: ${removed.join(', ')}`);
  const ends: string[] = [];
  for (const name of END_OF_RUN_FILES) if ((await storage.kind(name)) !== 'missing') ends.push(name);
  if (ends.length) logger.info(`removing ${ends.join(', ')} in ${dir}: the run continues, they are written again at its end`);
  for (const name of ends) await storage.remove(name);
}

/**
 * On resume: cuts the log `file` (metrics.jsonl) back to `bytes`, its size when the checkpoint
 * was written, dropping the lines of the interrupted epoch (and a torn last line). Returns the
 * size the log now has: `bytes`, or less when the file had lost lines (cut back to its last whole
 * line, with a warning) — the size the next checkpoint counts from.
 */
export async function cutLogTo(storage: RunStorage, file: string, bytes: number, logger: Logger): Promise<number> {
  const size = await storage.size(file);
  if (size === undefined) {
    if (bytes > 0) logger.warn(`${storage.describe(file)} is missing: its lines before the checkpoint are lost; new lines start a new log`);
    return 0;
  }
  if (size >= bytes) {
    // Also when there is nothing to cut: the log is opened for writing before anything else is
    // written, so a read-only log stops the resume with the folder as it was.
    await storage.truncate(file, bytes);
    return bytes;
  }
  // Shorter than at the checkpoint (a copy, a crash before the disk had it): keep its whole lines.
  const text = (await storage.read(file)) ?? new Uint8Array(0);
  const keep = text.lastIndexOf(0x0a) + 1;
  await storage.truncate(file, keep);
  logger.warn(`${storage.describe(file)} has ${size} bytes, ${bytes} when the checkpoint was written: some of its lines are lost`);
  return keep;
}
