/**
 * The runner: builds every part of the config, owns the epoch/step loop, hooks, metrics,
 * checkpoints, resume and summary.json; a `RunnerTask` (the training procedure) owns the models
 * and what one step does. Every file goes through a `RunStorage`, so the same run works in Node
 * (a folder), in a browser (IndexedDB) and in memory. See docs/core.md for the lifecycle.
 */
import { disposeLoadedTensors, latestCheckpointIn, loadCheckpointFrom, readCheckpointStateFrom, saveCheckpointTo } from './checkpoint/checkpoint';
import type { JsonValue, LoadedCheckpoint } from './checkpoint/checkpoint';
import type { ResolvedConfig } from './config';
import type { EvalResult, EvaluatorPart, Logger, SamplerPart } from './parts';
import type { Registry } from './registry';
import { createRng } from './rng';
import type { Rng, RngState } from './rng';
import { SupconNonFiniteError } from './non-finite';
import { SupconRunStoppedError } from './stopped';
import { faultPoint } from './faults';
import { runFileError } from './file-errors';
import { RUN_FILE, checkpointName, parseCheckpointName } from './run-layout';
import { cutLogTo, planRunFolderIn, prepareRunFolder, serializableConfig } from './run-folder';
import type { RunStorage } from './storage/types';
import { baseName, joinPath, parentPath, readText } from './storage/types';
import type { RunParts, RunSummary, RunnerContext, RunnerHooks, RunnerTask, StepResult, TaskStepInfo } from './runner-contracts';

export type { RunParts, RunSummary, RunnerContext, RunnerHooks, RunnerTask, StepInfo, StepResult, TaskStepInfo } from './runner-contracts';

export interface RunnerOptions {
  registry: Registry;
  task: RunnerTask;
  /** Hooks run after the config's `hooks` (which are built from the registry), in this order. */
  hooks?: readonly RunnerHooks<RunnerContext>[];
  /** Default: messages to console.error / console.warn. */
  logger?: Logger;
  /**
   * Where the run's files go. In Node the default is the folder `outDir` (default `config.out`)
   * on disk; elsewhere it is required: `memoryStorage()` or `indexedDbStorage({ run })`.
   */
  storage?: RunStorage;
  /** Output folder in Node (when no `storage` is given); default `config.out`. */
  outDir?: string;
  /**
   * Continue from the latest checkpoint in the run folder (next epoch, or the next step of a
   * mid-epoch checkpoint, with the task, optimizer and every RNG restored), or from the
   * checkpoint given (a path in the storage). Without a checkpoint it starts
   * afresh, provided the folder holds nothing but a run's files. The config must be the one in the
   * folder's config.json, but for a larger `train.epochs` and `RESUME_MAY_CHANGE` keys; otherwise
   * `run()` throws a `SupconRunFolderError` listing the changed keys, before writing anything.
   * Without `resume` or `overwrite`, the folder must be missing or empty.
   */
  resume?: boolean | string;
  /**
   * Start afresh in a folder that holds a run or other files: the files a run writes
   * (`RUN_FILES`: config.json, metrics.jsonl, summary.json, checkpoints/, ...) are removed first,
   * every other file is left alone. Excludes `resume`.
   */
  overwrite?: boolean;
  /** Use this sampler instead of building `config.sampler`. */
  sampler?: SamplerPart;
  /** Write a metrics line every this many steps (default 1); epoch lines are always written. */
  logEvery?: number;
  /**
   * Keep this many newest epoch checkpoints (default 2; 0 keeps all). Mid-epoch checkpoints
   * (`config.checkpoint.everySteps`): the newest this many of the current epoch, removed once the
   * epoch's own checkpoint is written.
   */
  keepCheckpoints?: number;
  /**
   * Stop at the first step whose loss or other metric (a task reports `gradNorm`) is NaN or
   * infinite, with a `SupconNonFiniteError` naming the epoch, step and metric (default true).
   * The last checkpoint is kept as it was.
   */
  failOnNonFinite?: boolean;
  /**
   * Stop cleanly: once aborted, the runner finishes the step under way, writes a checkpoint of it
   * (mid-epoch `epoch-NNNN-step-SSSSSS`, or the epoch's own at an epoch's last step) and
   * rejects with a `SupconRunStoppedError` naming that checkpoint. A later `resume` continues
   * there, with the same weights as a run that was never stopped. Aborted before the first step:
   * stops there, writing nothing more. Used by `supcon worker` and `supcon sweep` on SIGTERM.
   */
  signal?: AbortSignal;
}

export interface Runner {
  readonly context: RunnerContext;
  /** Runs the lifecycle; resolves to the summary (also written to summary.json). Rethrows any error after `onError` hooks. */
  run(): Promise<RunSummary>;
  /**
   * Re-runs the evaluators on a trained run: builds the parts, `task.setup`, loads the models of
   * `checkpoint` (a path in the storage; default the run's latest), `task.evaluate`, and updates
   * summary.json (earlier results kept, these replace those of the same key; `evaluatedFrom`).
   * Hooks `afterEval` and `afterRun` run; nothing is trained, and metrics.jsonl is left as it is.
   */
  evaluate(checkpoint?: string): Promise<RunSummary>;
}

/** The runner's part of a checkpoint's JSON state (`state.runner`). */
interface RunnerState {
  /** Epochs completed; a mid-epoch checkpoint lies inside the next one. */
  epochsCompleted: number;
  globalStep: number;
  rngs: Record<string, RngState>;
  metricsBytes: number;
  epochLoss: number[];
  /** Mid-epoch checkpoints only: how far into epoch `epochsCompleted` the run is. */
  partial?: PartialEpoch;
}

/**
 * Where a mid-epoch checkpoint stands in its epoch. On resume the epoch's batches are drawn again
 * from `epochRngs` and the first `steps` skipped, so samplers that draw from their (stateful)
 * generator while iterating replay exactly too; then every generator is set to `rngs`.
 */
interface PartialEpoch {
  /** Steps of the epoch done. */
  steps: number;
  /** Every generator's state as the epoch began, before the sampler drew its batches. */
  epochRngs: Record<string, RngState>;
  /** Sum of the steps' losses so far, for the epoch's mean (a string when not finite). */
  lossSum: number | string;
  /** Seconds the epoch had run. */
  seconds: number;
}

const defaultLogger: Logger = {
  info: (m) => console.error(m),
  warn: (m) => console.warn(m),
};

function stepMetrics(result: StepResult, info: TaskStepInfo): Record<string, number> {
  if (typeof result === 'number') return { loss: result };
  if (result === null || typeof result !== 'object' || typeof result.loss !== 'number') {
    throw new TypeError(`runner: task.step must return a number or { loss: number, ... } (epoch ${info.epoch}, step ${info.step})`);
  }
  return { ...result };
}

type HookName = Exclude<keyof RunnerHooks, 'onError'>;

function missingStorage(): never {
  throw new TypeError('createRunner: options.storage is required outside Node: pass memoryStorage() or indexedDbStorage({ run })');
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

/**
 * A runner for a validated config (`resolveConfig`). `config.plugins` that `options.registry`
 * lacks (by name) are registered into it. Lifecycle of `run()`, one named step each:
 *
 * 1. `openRunFolder`: check the run folder before writing anything (missing or empty; with
 *    `overwrite`, remove the run's files; with `resume`, the same config), create it; write
 *    `config.json` (the resolved config); build the config's hooks
 * 2. `buildParts`: data (both splits), sampler (rng 'sampler', `batchSize` = train.batchSize),
 *    loss, backbone, head, augment, optimizer, schedule, evaluators (see `RunParts`)
 * 3. `task.setup(parts)`
 * 4. `restore`, with `resume`: load the latest checkpoint into the task's models and optimizer,
 *    restore RNG states and `task.restore(state)`, continue at the next epoch (from a mid-epoch
 *    checkpoint: at the next step of its epoch, its batches drawn again and those done skipped)
 * 5. hooks `beforeRun`
 * 6. `runEpoch` for each epoch: `beforeEpoch`; for each batch of `sampler.epoch(labels, epoch)`:
 *    `beforeStep`, `task.step`, a metrics line, `afterStep`; then `task.epochEnd`, the epoch
 *    metrics line, `afterEpoch`, and last the checkpoint `checkpoints/epoch-NNNN` (NNNN = epochs
 *    completed), which so holds everything the epoch did. With `config.checkpoint.everySteps`, also
 *    after the `afterStep` of every global step that is a multiple of it (but an epoch's last):
 *    `checkpoints/epoch-NNNN-step-SSSSSS` (SSSSSS = steps done in the epoch)
 * 7. `evaluate`: `task.evaluate` -> an eval metrics line -> `afterEval`
 * 8. `writeSummary`: the runner's summary with `task.summary`'s fields -> summary.json -> `afterRun`
 *
 * Hooks run one after another in registration order (config hooks, then `options.hooks`), each
 * awaited. If anything throws, every `onError` hook runs (their own errors are logged, not
 * thrown) and the original error is rethrown; a file-system error (ENOSPC, EROFS, EACCES, ...) as
 * a `SupconFileError` naming the file and the last good checkpoint, with the same `code`.
 */
export function createRunner(config: ResolvedConfig, options: RunnerOptions): Runner {
  const { registry, task } = options;
  if (!task || typeof task.setup !== 'function' || typeof task.step !== 'function' || typeof task.checkpoint !== 'function') {
    throw new TypeError('createRunner: options.task must implement setup(parts, context), step(batch, info, context) and checkpoint()');
  }
  const storage: RunStorage = options.storage ?? missingStorage();
  const logEvery = options.logEvery ?? 1;
  if (!Number.isInteger(logEvery) || logEvery < 1) throw new RangeError(`createRunner: options.logEvery must be a positive integer, got ${logEvery}`);
  const keep = options.keepCheckpoints ?? 2;
  if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`createRunner: options.keepCheckpoints must be an integer >= 0, got ${keep}`);
  const logger = options.logger ?? defaultLogger;
  // The config's plugins are part of the run: register those the registry lacks (by name).
  for (const plugin of config.plugins) {
    if (!registry.plugins().some((p) => p === plugin || p.name === plugin.name)) registry.use(plugin);
  }
  const runDir = storage.location;
  const metricsFile = RUN_FILE.metrics;
  const checkpointsDir = RUN_FILE.checkpoints;

  const root = createRng(config.seed);
  const rngs = new Map<string, Rng>();
  let pendingRngStates: Record<string, RngState> = {};
  let parts: RunParts | undefined;
  let epoch = 0;
  let globalStep = 0;
  let lastCheckpoint: string | undefined;
  let metricsBytes = 0;

  const rngFor = (label: string): Rng => {
    let rng = rngs.get(label);
    if (!rng) {
      rng = root.fork(label);
      const saved = pendingRngStates[label];
      if (saved) rng.setState(saved);
      rngs.set(label, rng);
    }
    return rng;
  };

  const writeLine = async (record: Record<string, unknown>): Promise<void> => {
    const line = `${JSON.stringify(record)}\n`;
    await storage.append(metricsFile, line);
    metricsBytes += byteLength(line);
  };

  const builtParts = (): RunParts => {
    if (!parts) throw new Error('runner: the parts are not built yet (they are, once setup runs)');
    return parts;
  };

  const context: RunnerContext = {
    config,
    registry,
    runDir,
    storage,
    logger,
    rng: rngFor,
    build: (kind, partConfig, partPath = kind, extra = {}) =>
      registry.build(kind, partConfig, { rng: rngFor(partPath), batchSize: config.train.batchSize, logger, ...extra }, partPath),
    get parts(): RunParts {
      return builtParts();
    },
    get sampler(): SamplerPart {
      return builtParts().sampler;
    },
    get epoch() {
      return epoch;
    },
    get globalStep() {
      return globalStep;
    },
    get lastCheckpoint() {
      return lastCheckpoint;
    },
    log: (record) => writeLine({ kind: 'custom', ...record }),
  };

  const hooks: RunnerHooks<RunnerContext>[] = [];
  const callHooks = async <N extends HookName>(
    name: N,
    ...args: Parameters<NonNullable<RunnerHooks<RunnerContext>[N]>> extends [unknown, ...infer R] ? R : never
  ): Promise<void> => {
    for (const hook of hooks) {
      const fn = hook[name] as ((c: RunnerContext, ...a: unknown[]) => void | Promise<void>) | undefined;
      if (fn) await fn.call(hook, context, ...args);
    }
  };

  const rngStates = (): Record<string, RngState> => Object.fromEntries([...rngs].map(([label, rng]) => [label, rng.state()]));
  /** Sets every generator handed out to its state in `states`, or to its initial state when absent. */
  const setRngStates = (states: Record<string, RngState>): void => {
    for (const [label, rng] of rngs) rng.setState(states[label] ?? root.fork(label).state());
  };

  const runnerState = (epochsCompleted: number, epochLoss: number[], partial?: PartialEpoch): RunnerState => ({
    epochsCompleted,
    globalStep,
    rngs: rngStates(),
    metricsBytes,
    epochLoss,
    ...(partial ? { partial } : {}),
  });

  /**
   * After writing the checkpoint `written` (`epoch-E` or `epoch-E-step-S`): removes epoch
   * checkpoints beyond the `keep` newest up to it, mid-epoch ones of epochs before E, those of
   * epoch E beyond the `keep` newest up to it, and folders left by saves that were interrupted
   * (`*.tmp-*`; `*.old-*` beside a complete folder). Checkpoints after `written` (left by another
   * line of the run) are not touched.
   */
  async function pruneCheckpoints(written: string): Promise<void> {
    const at = parseCheckpointName(written)!;
    const names = await storage.list(checkpointsDir);
    const remove = new Set<string>();
    for (const name of names) {
      const old = /^(epoch-[^.]+)\.old-/.exec(name);
      if (/^epoch-[^.]+\.tmp-/.test(name) || (old && (await storage.kind(joinPath(checkpointsDir, old[1], 'checkpoint.json'))) === 'file')) remove.add(name);
    }
    if (keep > 0) {
      const sameEpoch: { name: string; step: number }[] = [];
      for (const name of names) {
        const c = parseCheckpointName(name);
        if (!c || name.includes('.old-')) continue;
        if (!c.mid && c.epochs <= at.epochs - keep) remove.add(name);
        if (c.mid && c.epochs < at.epochs) remove.add(name);
        if (c.mid && c.epochs === at.epochs && c.step <= at.step) sameEpoch.push({ name, step: c.step });
      }
      for (const { name } of sameEpoch.sort((a, b) => b.step - a.step).slice(keep)) remove.add(name);
      // Their .old-* twins go with them.
      for (const name of names) if ([...remove].some((r) => name.startsWith(`${r}.old-`))) remove.add(name);
    }
    for (const name of remove) {
      await storage.remove(joinPath(checkpointsDir, name));
      faultPoint?.('prune');
    }
  }

  /** Saves the task's checkpoint with the runner's state under `checkpoints/<name>`, then prunes. */
  async function writeCheckpoint(name: string, runner: RunnerState): Promise<void> {
    const contents = await task.checkpoint();
    const state = { runner, task: contents.state ?? null } as unknown as JsonValue;
    const fault = faultPoint;
    lastCheckpoint = await saveCheckpointTo(storage, joinPath(checkpointsDir, name), { ...contents, state }, fault ? { onFileWritten: () => fault('checkpoint-write') } : {});
    faultPoint?.('checkpoint-saved');
    await pruneCheckpoints(name);
  }

  /** Step 2: every part of the config, in the order and with the generators `RunParts` documents. */
  async function buildParts(): Promise<RunParts> {
    if (!config.data) throw new Error('runner: config.data is missing: name a dataset (data: { type: ... })');
    const dataset = await context.build('dataset', config.data, 'data');
    const [train, test] = await Promise.all([dataset.load('train'), dataset.load('test')]);
    const numClasses = train.classes.length;
    let sampler: SamplerPart;
    if (options.sampler) sampler = options.sampler;
    else if (config.sampler) sampler = await context.build('sampler', config.sampler, 'sampler');
    else throw new Error('runner: config.sampler is missing: name a sampler in the config (or its defaults), or pass options.sampler');
    const loss = config.loss ? await context.build('loss', config.loss, 'loss') : undefined;
    const backbone = config.backbone ? await context.build('backbone', config.backbone, 'backbone', { inputShape: train.shape, numClasses }) : undefined;
    let head;
    if (config.head && backbone) {
      const featureDim = backbone.outputs[0].shape[backbone.outputs[0].shape.length - 1];
      if (typeof featureDim !== 'number') throw new Error(`backbone: the encoder's output must be [batch, dim], got ${JSON.stringify(backbone.outputs[0].shape)}`);
      head = await context.build('head', config.head, 'head', { inputShape: [featureDim], numClasses });
    }
    const augment = config.augment ? await context.build('augmentation', config.augment, 'augment', { inputShape: train.shape }) : undefined;
    const optimizer = config.optimizer ? await context.build('optimizer', config.optimizer, 'optimizer') : undefined;
    const schedule = config.schedule ? await context.build('schedule', config.schedule, 'schedule') : undefined;
    const evaluators: EvaluatorPart[] = [];
    for (const [i, e] of config.eval.entries()) evaluators.push(await context.build('evaluator', e, `eval[${i}]`, { numClasses }));
    return { train, test, sampler, loss, backbone, head, augment, optimizer, schedule, evaluators };
  }

  /** Builds the config's hooks (before `options.hooks`). */
  async function buildHooks(): Promise<void> {
    const built: RunnerHooks<RunnerContext>[] = [];
    for (const [i, hookConfig] of config.hooks.entries()) built.push((await context.build('hook', hookConfig, `hooks[${i}]`)) as RunnerHooks<RunnerContext>);
    hooks.unshift(...built);
  }

  /** Runs every `onError` hook (their own errors are logged), then returns the error to rethrow. */
  async function failed(caught: unknown): Promise<unknown> {
    // A file-system error (full disk, read-only, permissions) names the file and the last good checkpoint.
    const error = runFileError(caught, lastCheckpoint);
    for (const hook of hooks) {
      try {
        await hook.onError?.(context, error);
      } catch (hookError) {
        logger.warn(`runner: an onError hook threw: ${hookError instanceof Error ? hookError.message : String(hookError)}`);
      }
    }
    return error;
  }

  interface Opened {
    checkpointDir: string | undefined;
    saved: { runner?: RunnerState; task?: JsonValue } | undefined;
  }

  /** Step 1: decides fresh or resumed before writing anything, prepares the folder, writes config.json. */
  async function openRunFolder(): Promise<Opened> {
    // A folder that holds a run or other files needs resume or overwrite, and a resume the run's config (it throws).
    const plan = await planRunFolderIn(storage, { resume: options.resume, overwrite: options.overwrite, config });
    const checkpointDir = plan.checkpointDir;
    let saved: Opened['saved'];
    if (checkpointDir) {
      saved = ((await readCheckpointStateFrom(storage, checkpointDir)) ?? {}) as Opened['saved'];
      if (!saved?.runner) throw new Error(`runner: ${storage.describe(checkpointDir)} holds no runner state: it was not written by a runner`);
      // The checkpoint resumed from is the last good one, also for a file-system error before it is loaded.
      lastCheckpoint = storage.describe(checkpointDir);
    } else if (options.resume) {
      logger.info(`no checkpoint in ${runDir}: starting afresh`);
    }
    // Fresh: remove an earlier run's files (overwrite). Resumed: remove leftovers of interrupted
    // writes and the end-of-run files, which the continued run writes again.
    await prepareRunFolder(plan, logger);
    if (saved?.runner) {
      // Drop lines logged after the checkpoint (the interrupted epoch is run again), so that nothing logged from here on is cut away.
      metricsBytes = await cutLogTo(storage, metricsFile, saved.runner.metricsBytes, logger);
    } else {
      await storage.write(metricsFile, '');
      metricsBytes = 0;
    }
    await storage.write(RUN_FILE.config, `${JSON.stringify(serializableConfig(config), null, 2)}\n`);
    return { checkpointDir, saved };
  }

  interface Resumed {
    startEpoch: number;
    partial: PartialEpoch | undefined;
    epochLoss: number[];
    resumedFrom: string | null;
  }

  /** Step 4: loads the checkpoint into the task and sets every generator to its saved state. */
  async function restore(checkpointDir: string, saved: RunnerState, taskState: JsonValue | undefined): Promise<Resumed> {
    const targets = await task.checkpoint();
    const loaded: LoadedCheckpoint = await loadCheckpointFrom(storage, checkpointDir, { model: targets.model, models: targets.models, optimizer: targets.optimizer });
    // Every generator to its saved state; those made from here on start from theirs.
    pendingRngStates = saved.rngs;
    for (const [label, rng] of rngs) if (pendingRngStates[label]) rng.setState(pendingRngStates[label]);
    await task.restore?.(taskState, loaded);
    globalStep = saved.globalStep;
    lastCheckpoint = loaded.dir;
    logger.info(`resuming from ${loaded.dir} at epoch ${saved.epochsCompleted}${saved.partial ? `, step ${saved.partial.steps}` : ''}`);
    // A run killed while pruning left older checkpoints behind: prune as after that checkpoint's save.
    if (parentPath(checkpointDir) === checkpointsDir && parseCheckpointName(baseName(checkpointDir))) await pruneCheckpoints(baseName(checkpointDir));
    return { startEpoch: saved.epochsCompleted, partial: saved.partial, epochLoss: saved.epochLoss ?? [], resumedFrom: loaded.dir };
  }

  /** Step 6, one epoch: its steps (from `resumeAt` on, for a mid-epoch checkpoint), its metrics line and checkpoint. */
  async function runEpoch(
    labels: ArrayLike<number>,
    lengths: { stepsPerEpoch: number; totalSteps: number },
    epochLoss: number[],
    resumeAt: PartialEpoch | undefined,
    resumeRngs: Record<string, RngState> | undefined,
  ): Promise<number[]> {
    const sampler = builtParts().sampler;
    const { stepsPerEpoch } = lengths;
    const everySteps = config.checkpoint?.everySteps;
    const epochStarted = Date.now();
    // A mid-epoch checkpoint continues its epoch: beforeEpoch runs again (this process's hooks
    // have not seen it), then the same batches are drawn and the steps done skipped.
    await callHooks('beforeEpoch', epoch);
    let step = 0;
    let lossSum = 0;
    let secondsBefore = 0;
    let epochRngs: Record<string, RngState>;
    if (resumeAt) {
      epochRngs = resumeAt.epochRngs;
      setRngStates(epochRngs);
      pendingRngStates = epochRngs;
    } else {
      epochRngs = rngStates();
    }
    const batches = sampler.epoch(labels, epoch)[Symbol.iterator]();
    if (resumeAt) {
      for (; step < resumeAt.steps; step++) {
        if (batches.next().done) {
          throw new Error(
            `runner: resuming ${lastCheckpoint} at epoch ${epoch}, step ${resumeAt.steps}, but the sampler yielded only ${step} batches: its batches must depend only on (its rng state at the epoch start, labels, epoch)`,
          );
        }
      }
      // The sampler is where it was; every generator goes back to its state at the checkpoint.
      pendingRngStates = resumeRngs ?? {};
      setRngStates(pendingRngStates);
      lossSum = Number(resumeAt.lossSum);
      secondsBefore = resumeAt.seconds;
    }
    for (let next = batches.next(); !next.done; next = batches.next()) {
      const batch = next.value;
      const info: TaskStepInfo = { epoch, step, globalStep, batchSize: batch.length, ...lengths };
      await callHooks('beforeStep', info);
      const metrics = stepMetrics(await task.step(batch, info, context), info);
      if ((options.failOnNonFinite ?? true) && Object.values(metrics).some((v) => !Number.isFinite(v))) {
        // JSON has no NaN: the line records the values as strings.
        await writeLine({ kind: 'error', epoch, step: info.step, globalStep: info.globalStep, ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)])) });
        throw new SupconNonFiniteError({ epoch, step: info.step, globalStep: info.globalStep, metrics, lastCheckpoint });
      }
      lossSum += metrics.loss;
      globalStep++;
      step++;
      if (step % logEvery === 0) await writeLine({ kind: 'step', epoch, step: info.step, globalStep: info.globalStep, ...metrics });
      await callHooks('afterStep', { ...info, ...metrics, loss: metrics.loss });
      faultPoint?.('step');
      const stopping = options.signal?.aborted === true;
      // Mid-epoch checkpoints; one due at the epoch's last step is the epoch checkpoint below.
      if ((stopping || (everySteps && globalStep % everySteps === 0)) && step < stepsPerEpoch) {
        const seconds = secondsBefore + (Date.now() - epochStarted) / 1000;
        const at: PartialEpoch = { steps: step, epochRngs, lossSum: Number.isFinite(lossSum) ? lossSum : String(lossSum), seconds };
        await writeCheckpoint(checkpointName(epoch, step), runnerState(epoch, epochLoss, at));
        if (stopping) throw new SupconRunStoppedError(joinPath(RUN_FILE.checkpoints, checkpointName(epoch, step)));
      }
    }
    const extra = (await task.epochEnd?.(epoch, context)) ?? {};
    const meanLoss = step > 0 ? lossSum / step : Number.NaN;
    const epochMetrics: Record<string, number> = { loss: meanLoss, steps: step, seconds: secondsBefore + (Date.now() - epochStarted) / 1000, ...extra };
    const losses = [...epochLoss, meanLoss];
    await writeLine({ kind: 'epoch', epoch, ...epochMetrics });

    await callHooks('afterEpoch', epoch, epochMetrics);
    faultPoint?.('epoch-end');

    // Last, so the checkpoint holds everything the epoch did, hooks and their metrics lines included.
    await writeCheckpoint(checkpointName(epoch + 1), runnerState(epoch + 1, losses));
    if (options.signal?.aborted && epoch + 1 < config.train.epochs) throw new SupconRunStoppedError(joinPath(RUN_FILE.checkpoints, checkpointName(epoch + 1)));
    return losses;
  }

  /**
   * Step 7: the task's evaluation, its metrics line (`log`: metrics.jsonl is the training's log,
   * which a later `runner.evaluate()` leaves as it is) and `afterEval`.
   */
  async function evaluate(log: boolean): Promise<Record<string, EvalResult>> {
    faultPoint?.('eval');
    const results = (await task.evaluate?.(context)) ?? {};
    faultPoint?.('eval-done');
    if (log && Object.keys(results).length) await writeLine({ kind: 'eval', ...results });
    await callHooks('afterEval', results);
    return results;
  }

  /** Step 8: summary.json, once, with the procedure's fields; then `afterRun`. */
  async function writeSummary(base: RunSummary, previous: Record<string, unknown> = {}): Promise<RunSummary> {
    const extra = (await task.summary?.(base)) ?? {};
    const summary: RunSummary = { ...previous, ...extra, ...base };
    await storage.write(RUN_FILE.summary, `${JSON.stringify(summary, null, 2)}\n`);
    faultPoint?.('summary');
    await callHooks('afterRun', summary);
    return summary;
  }

  const startHooks = (): void => {
    // options.hooks are in place from the start, so their onError sees every failure.
    hooks.length = 0;
    hooks.push(...(options.hooks ?? []));
  };

  async function run(): Promise<RunSummary> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    startHooks();
    try {
      const { checkpointDir, saved } = await openRunFolder();
      await buildHooks();
      // On resume as well, parts and setup draw from generators in their initial states, as the
      // interrupted run's did (initialiser seeds end up in model.json); the saved states are set after.
      parts = await buildParts();
      await task.setup(parts, context);
      const labels = parts.train.labels;
      const stepsPerEpoch = parts.sampler.batchesPerEpoch(labels);
      const lengths = { stepsPerEpoch, totalSteps: stepsPerEpoch * config.train.epochs };

      let resumed: Resumed = { startEpoch: 0, partial: undefined, epochLoss: [], resumedFrom: null };
      if (checkpointDir && saved?.runner) resumed = await restore(checkpointDir, saved.runner, saved.task);
      let epochLoss = resumed.epochLoss;

      await callHooks('beforeRun');
      for (epoch = resumed.startEpoch; epoch < config.train.epochs; epoch++) {
        if (options.signal?.aborted) throw new SupconRunStoppedError(checkpointDir ?? undefined);
        const resumeAt = epoch === resumed.startEpoch ? resumed.partial : undefined;
        epochLoss = await runEpoch(labels, lengths, epochLoss, resumeAt, resumeAt ? saved?.runner?.rngs : undefined);
      }
      const results = await evaluate(true);
      const finished = Date.now();
      return await writeSummary({
        name: config.name ?? null,
        seed: config.seed,
        epochs: config.train.epochs,
        steps: globalStep,
        epochLoss,
        finalLoss: epochLoss.length ? epochLoss[epochLoss.length - 1] : null,
        eval: results,
        resumedFrom: resumed.resumedFrom,
        startedAt,
        finishedAt: new Date(finished).toISOString(),
        seconds: (finished - started) / 1000,
      });
    } catch (caught) {
      throw await failed(caught);
    }
  }

  async function evaluateRun(checkpoint?: string): Promise<RunSummary> {
    const started = Date.now();
    startHooks();
    try {
      const from = checkpoint ?? (await latestCheckpointIn(storage));
      if (!from) throw new Error(`${runDir} holds no checkpoint: train first`);
      lastCheckpoint = storage.describe(from);
      await buildHooks();
      parts = await buildParts();
      await task.setup(parts, context);
      const targets = await task.checkpoint();
      // Only the models: the evaluation trains nothing.
      const loaded = await loadCheckpointFrom(storage, from, { model: targets.model, models: targets.models });
      // The optimizer's saved variables come back as tensors nobody takes: free them.
      disposeLoadedTensors(loaded);
      const state = loaded.state as { runner?: RunnerState } | undefined;
      globalStep = state?.runner?.globalStep ?? 0;
      const results = await evaluate(false);
      const text = await readText(storage, RUN_FILE.summary);
      const previous = text ? (JSON.parse(text) as Partial<RunSummary>) : {};
      const epochLoss = state?.runner?.epochLoss ?? previous.epochLoss ?? [];
      const finished = Date.now();
      return await writeSummary(
        {
          name: config.name ?? null,
          seed: config.seed,
          epochs: state?.runner?.epochsCompleted ?? config.train.epochs,
          steps: globalStep,
          epochLoss,
          finalLoss: epochLoss.length ? epochLoss[epochLoss.length - 1] : null,
          eval: { ...(previous.eval ?? {}), ...results },
          resumedFrom: previous.resumedFrom ?? null,
          startedAt: previous.startedAt ?? new Date(started).toISOString(),
          finishedAt: previous.finishedAt ?? new Date(finished).toISOString(),
          seconds: previous.seconds ?? 0,
          evaluatedFrom: loaded.dir,
          evaluationSeconds: (finished - started) / 1000,
        },
        previous,
      );
    } catch (caught) {
      throw await failed(caught);
    }
  }

  return { context, run, evaluate: evaluateRun };
}
