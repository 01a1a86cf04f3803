/**
 * The layout of a run folder: the files a run writes and the names of its checkpoint folders.
 * Nothing else in the folder is the run's, and nothing else is touched.
 */
import { tempTargetName } from './temp-names';

/** The files and folders a run writes into its folder, by role. */
export const RUN_FILE = {
  /** The resolved config (plugins as `{ name, version }`). */
  config: 'config.json',
  /** One JSON object per line: steps, epochs, evaluation, hooks' lines. */
  metrics: 'metrics.jsonl',
  /** The run's results (written at the end; `evaluate` updates it). */
  summary: 'summary.json',
  /** Where the config file was (`supcon train --config F`), for `evaluate`. */
  source: 'source.json',
  /** The 2-D map of test embeddings (written by the evaluation of @supcon/train). */
  embeddingMap: 'embedding-map.json',
  /** The HTML report (`supcon report`, and `supcon train` unless `--no-report`). */
  report: 'report.html',
  /** Checkpoint folders `epoch-NNNN/` (and their `.tmp-*` / `.old-*` twins while one is written). */
  checkpoints: 'checkpoints',
} as const;

/** Every name of `RUN_FILE`: what `overwrite` removes (inside checkpoints/, only checkpoints). */
export const RUN_FILES: readonly string[] = Object.values(RUN_FILE);

/** Written when a run ends (or by `evaluate` / `supcon report` afterwards): stale once the run continues. */
export const END_OF_RUN_FILES: readonly string[] = [RUN_FILE.summary, RUN_FILE.embeddingMap, RUN_FILE.report];

/** A name in the run folder that a run wrote: one of `RUN_FILES`, or a temporary twin of one. */
export function isRunFile(name: string): boolean {
  return RUN_FILES.includes(name) || RUN_FILES.includes(tempTargetName(name) ?? '');
}

/** `<name>.tmp-*` / `<name>.old-*`: folders and files left by an interrupted atomic write. */
export const LEFTOVER = /^(.+)\.(tmp|old)-\d+(?:-[0-9a-z]+)*$/;

/**
 * Name of the checkpoint folder after `epochsCompleted` epochs: `epoch-0003`; with `step`, of a
 * mid-epoch checkpoint taken after `step` steps of the next epoch: `epoch-0003-step-000120`.
 */
export function checkpointName(epochsCompleted: number, step?: number): string {
  const name = `epoch-${String(epochsCompleted).padStart(4, '0')}`;
  return step === undefined ? name : `${name}-step-${String(step).padStart(6, '0')}`;
}

/**
 * Epochs completed and steps into the next epoch of a checkpoint folder name (`epoch-0003` ->
 * `{ epochs: 3, step: 0, mid: false }`, `epoch-0003-step-000120` -> `{ epochs: 3, step: 120, mid: true }`),
 * ignoring a `.old-*` suffix; undefined for any other name (`.tmp-*` folders included).
 */
export function parseCheckpointName(name: string): { epochs: number; step: number; mid: boolean } | undefined {
  const m = /^epoch-(\d+)(?:-step-(\d+))?(?:\.old-.*)?$/.exec(name);
  return m ? { epochs: Number(m[1]), step: m[2] === undefined ? 0 : Number(m[2]), mid: m[2] !== undefined } : undefined;
}
