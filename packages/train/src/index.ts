/**
 * @supcon/train: train a Supervised Contrastive Learning encoder from your own code.
 *
 *   const { train } = await import('@supcon/train');
 *   const { summary, runDir } = await train({ data: { type: 'fashion-mnist', sample: true }, loss: { type: 'supcon-out' } });
 *   summary.eval.linearProbe.top1;
 *
 * This is the Node entry: configs may be file paths, and runs are folders on disk. Browsers get
 * browser.ts (the `browser` export condition): config objects, runs in memory or IndexedDB.
 * Importing this module starts nothing.
 */
import { nodeStorage } from '@supcon/core';
import type { RunStorage } from '@supcon/core';
import { nodePlatform } from './node';
import { evaluateOn, trainOn } from './run';
import type { ConfigSource, EvaluateOptions, TrainOptions, TrainResult } from './run';

export * from './shared';
export { checkDataFolder } from './node';
export { exportEncoder, loadEncoder } from './export-node';
export { loadSweep, checkSweep, expandSweep, runSweepEntry, gatherSweep, sweepResultsCsv, writeSweepResults, sweepRunSummary, strayRunFolders } from './sweep';
export type { Sweep, SweepAxis, SweepRun, SweepRunStatus, SweepResult, SweepEntryOptions, SweepEntryResult } from './sweep';
export { enqueueSweep, sweepQueueStatus, runSweepWorker, sweepJobId, shownRedisUrl, DEFAULT_SWEEP_QUEUE, SWEEP_INDEX_STOPPED_EXIT } from './sweep-queue';
export type { SweepJob, SweepQueueOptions, EnqueueSweepOptions, SweepQueueCounts, SweepQueueStatus, SweepWorkerOptions } from './sweep-queue';

/**
 * Trains as `config` says (an object, or a config file path) and evaluates the encoder. Resolves
 * when the run folder (`options.out`, else the config's `out`) holds summary.json; the summary
 * is returned too. Parts the config leaves out get `builtinDefaults`.
 * @throws `SupconConfigError` naming the config path of a bad value; `SupconRunFolderError`
 *   before anything is written when the folder holds a run (pass `resume` or `overwrite`);
 *   `SupconNonFiniteError` when the loss diverges (the last checkpoint is kept).
 */
export function train(config: ConfigSource, options: TrainOptions = {}): Promise<TrainResult> {
  return trainOn(nodePlatform, config, options);
}

/**
 * Re-runs the evaluators on a trained run and updates its summary.json: `run` is a run folder or
 * one of its checkpoint folders (`<run>/checkpoints/epoch-0003`), or any `RunStorage`. Without
 * `config`, the run's own config is used.
 */
export function evaluate(run: string | RunStorage, config?: ConfigSource, options: EvaluateOptions = {}): Promise<TrainResult> {
  if (typeof run !== 'string') return evaluateOn(nodePlatform, run, config, options);
  const { runDir, checkpoint } = splitRunPath(run);
  return evaluateOn(nodePlatform, nodeStorage(runDir), config, { ...options, ...(checkpoint && !options.checkpoint ? { checkpoint } : {}) });
}

/** `<run>/checkpoints/<name>` -> the run folder and the checkpoint in it; any other path is a run folder. */
function splitRunPath(run: string): { runDir: string; checkpoint?: string } {
  const parts = run.replace(/[\\/]+$/, '').split(/[\\/]/);
  if (parts.length >= 3 && parts[parts.length - 2] === 'checkpoints') {
    return { runDir: parts.slice(0, -2).join('/') || '/', checkpoint: `checkpoints/${parts[parts.length - 1]}` };
  }
  return { runDir: run };
}
