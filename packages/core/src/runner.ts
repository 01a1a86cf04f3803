/**
 * The runner: owns the epoch/step loop, hooks, metrics, checkpoints and resume; a `RunnerTask`
 * owns the model and what one step does. See docs/core.md for the lifecycle.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { checkpointName, loadCheckpoint, parseCheckpointName, readCheckpointState, saveCheckpoint } from './checkpoint';
import type { CheckpointContents, JsonValue, LoadedCheckpoint } from './checkpoint';
import type { ResolvedConfig } from './config';
import type { BuildContext, EvalResult, Logger, PartKind, PartTypes, RunnerHooks, SamplerPart, StepInfo } from './parts';
import type { PartConfig, Registry } from './registry';
import { createRng } from './rng';
import { SupconNonFiniteError } from './non-finite';
import { faultPoint } from './faults';
import { appendLine, runFileError, writeFileAtomic } from './atomic';
import { RUN_FILE, cutLogTo, planRunFolder, prepareRunFolder, serializableConfig } from './run-folder';
import type { Rng, RngState } from './rng';

/** Step position handed to a task: `StepInfo` plus the run's length, for schedules. */
export interface TaskStepInfo extends StepInfo {
  /** Batches in every epoch (`sampler.batchesPerEpoch(labels)`). */
  stepsPerEpoch: number;
  /** `stepsPerEpoch * train.epochs`. */
  totalSteps: number;
}

/** What a step returns: its loss, or the loss with further metrics (all finite numbers). */
export type StepResult = number | { loss: number; [metric: string]: number };

/** What `setup` tells the runner. */
export interface TaskSetup {
  /** Labels of the training split; the sampler draws batch indices over them each epoch. */
  labels: ArrayLike<number>;
}

/**
 * The training procedure plugged into the runner. The runner calls, in order:
 * `setup` once; on resume `restore` once; per epoch, `step` for each batch of
 * `sampler.epoch(labels, epoch)` then `epochEnd`; `checkpoint` after every epoch (and every
 * `config.checkpoint.everySteps` steps, mid-epoch); `evaluate` once at the end.
 * Examples: SupCon pre-training (step: augment views, encode, loss, update; evaluate:
 * linear probe on the frozen encoder), end-to-end cross-entropy (step: logits + CE), triplet or
 * N-pair (an m-per-class sampler, step: embeddings + metric loss).
 *
 * Randomness must come from `context.rng(label)`: the runner checkpoints and restores those
 * generators, which is what makes a resumed run end with the same weights.
 */
export interface RunnerTask {
  /** Builds models, optimizer and data (e.g. with `context.build(...)`); returns the training labels. */
  setup(context: RunnerContext): TaskSetup | Promise<TaskSetup>;
  /** One optimisation step on the dataset indices `batch` (int32). Must not leak tensors. */
  step(batch: Int32Array, info: TaskStepInfo, context: RunnerContext): StepResult | Promise<StepResult>;
  /** After the last step of an epoch; extra epoch metrics (e.g. learning rate, train accuracy). */
  epochEnd?(epoch: number, context: RunnerContext): Record<string, number> | void | Promise<Record<string, number> | void>;
  /** After training; results by evaluator key, stored in summary.json under `eval`. */
  evaluate?(context: RunnerContext): Record<string, EvalResult> | Promise<Record<string, EvalResult>>;
  /**
   * What to save after each epoch (and mid-epoch with `checkpoint.everySteps`): models and the
   * optimizer (their weights are saved) and any JSON `state` of the task — with mid-epoch
   * checkpoints, including whatever `epochEnd` reads that steps accumulate. On resume, the same
   * objects are restored in place.
   */
  checkpoint(): CheckpointContents | Promise<CheckpointContents>;
  /** On resume, after models and optimizer were restored: the task's saved JSON `state`. */
  restore?(state: JsonValue | undefined, loaded: LoadedCheckpoint): void | Promise<void>;
}

/** What hooks and the task see. */
export interface RunnerContext {
  readonly config: ResolvedConfig;
  readonly registry: Registry;
  /** The run's output folder (absolute). */
  readonly runDir: string;
  readonly logger: Logger;
  /**
   * The seeded generator for a named consumer ('sampler', 'augment', 'init', ...): a fork of the
   * run's root generator (seed `config.seed`). The same label returns the same instance; every
   * one is saved in checkpoints and restored on resume.
   */
  rng(label: string): Rng;
  /** Builds a part with the registry; its `rng` is `rng(<path>)`, `batchSize` is `train.batchSize`. */
  build<K extends PartKind>(kind: K, config: PartConfig, path?: string, context?: Partial<BuildContext>): Promise<PartTypes[K]>;
  /** The sampler the loop uses (set before `setup` runs). */
  readonly sampler: SamplerPart;
  /** Current epoch (from 0) and global step (from 0; the number of steps done). */
  readonly epoch: number;
  readonly globalStep: number;
  /** Folder of the last checkpoint written or restored. */
  readonly lastCheckpoint: string | undefined;
  /** Appends one JSON line to metrics.jsonl (`kind` is added when missing: 'custom'). */
  log(record: Record<string, JsonValue>): Promise<void>;
}

export interface RunnerOptions {
  registry: Registry;
  task: RunnerTask;
  /** Hooks run after the config's `hooks` (which are built from the registry), in this order. */
  hooks?: readonly RunnerHooks<RunnerContext>[];
  /** Default: messages to console.error / console.warn. */
  logger?: Logger;
  /** Output folder; default `config.out`. */
  outDir?: string;
  /**
   * Continue from the latest checkpoint in the run folder (next epoch, or the next step of a
   * mid-epoch checkpoint, with the task, optimizer and every RNG restored), or from the
   * checkpoint folder given. Without a checkpoint it starts
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
}

/** summary.json. */
export interface RunSummary {
  [key: string]: unknown;
  name: string | null;
  seed: number;
  epochs: number;
  steps: number;
  /** Mean loss of each epoch run by this process and, after a resume, the earlier ones. */
  epochLoss: number[];
  finalLoss: number | null;
  eval: Record<string, EvalResult>;
  resumedFrom: string | null;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}

export interface Runner {
  readonly context: RunnerContext;
  /** Runs the lifecycle; resolves to the summary (also written to summary.json). Rethrows any error after `onError` hooks. */
  run(): Promise<RunSummary>;
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

/**
 * A runner for a validated config (`resolveConfig`). `config.plugins` that `options.registry`
 * lacks (by name) are registered into it. Lifecycle of `run()`:
 *
 * 1. check the run folder before writing anything (missing or empty; with `overwrite`, remove the
 *    run's files; with `resume`, the same config), create it; write `config.json` (the resolved
 *    config); build the config's hooks
 * 2. build the sampler (`config.sampler`, rng 'sampler', `batchSize` = train.batchSize)
 * 3. `task.setup(context)` -> training labels
 * 4. with `resume`: load the latest checkpoint into the task's models and optimizer, restore RNG
 *    states and `task.restore(state)`, continue at the next epoch (from a mid-epoch checkpoint:
 *    at the next step of its epoch, its batches drawn again and those done skipped)
 * 5. hooks `beforeRun`
 * 6. for each epoch: `beforeEpoch`; for each batch of `sampler.epoch(labels, epoch)`:
 *    `beforeStep`, `task.step`, a metrics line, `afterStep`; then `task.epochEnd`, the epoch
 *    metrics line, `afterEpoch`, and last the checkpoint `checkpoints/epoch-NNNN` (NNNN = epochs
 *    completed), which so holds everything the epoch did. With `config.checkpoint.everySteps`, also
 *    after the `afterStep` of every global step that is a multiple of it (but an epoch's last):
 *    `checkpoints/epoch-NNNN-step-SSSSSS` (SSSSSS = steps done in the epoch)
 * 7. `task.evaluate` -> `afterEval`
 * 8. `summary.json` -> `afterRun`
 *
 * Hooks run one after another in registration order (config hooks, then `options.hooks`), each
 * awaited. If anything throws, every `onError` hook runs (their own errors are logged, not
 * thrown) and the original error is rethrown; a file-system error (ENOSPC, EROFS, EACCES, ...) as
 * a `SupconFileError` naming the file and the last good checkpoint, with the same `code`.
 */
export function createRunner(config: ResolvedConfig, options: RunnerOptions): Runner {
  const { registry, task } = options;
  if (!task || typeof task.setup !== 'function' || typeof task.step !== 'function' || typeof task.checkpoint !== 'function') {
    throw new TypeError('createRunner: options.task must implement setup(context), step(batch, info, context) and checkpoint()');
  }
  const logEvery = options.logEvery ?? 1;
  if (!Number.isInteger(logEvery) || logEvery < 1) throw new RangeError(`createRunner: options.logEvery must be a positive integer, got ${logEvery}`);
  const keep = options.keepCheckpoints ?? 2;
  if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`createRunner: options.keepCheckpoints must be an integer >= 0, got ${keep}`);
  const logger = options.logger ?? defaultLogger;
  // The config's plugins are part of the run: register those the registry lacks (by name).
  for (const plugin of config.plugins) {
    if (!registry.plugins().some((p) => p === plugin || p.name === plugin.name)) registry.use(plugin);
  }
  const runDir = path.resolve(options.outDir ?? config.out);
  const metricsFile = path.join(runDir, RUN_FILE.metrics);
  const checkpointsDir = path.join(runDir, RUN_FILE.checkpoints);

  const root = createRng(config.seed);
  const rngs = new Map<string, Rng>();
  let pendingRngStates: Record<string, RngState> = {};
  let sampler: SamplerPart | undefined;
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
    await appendLine(metricsFile, line);
    metricsBytes += Buffer.byteLength(line);
  };

  const context: RunnerContext = {
    config,
    registry,
    runDir,
    logger,
    rng: rngFor,
    build: (kind, partConfig, partPath = kind, extra = {}) =>
      registry.build(kind, partConfig, { rng: rngFor(partPath), batchSize: config.train.batchSize, logger, ...extra }, partPath),
    get sampler(): SamplerPart {
      if (!sampler) throw new Error('runner: the sampler is not built yet (it is, once setup runs)');
      return sampler;
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
    const names = await readdir(checkpointsDir);
    const remove = new Set<string>();
    for (const name of names) {
      const old = /^(epoch-[^.]+)\.old-/.exec(name);
      if (/^epoch-[^.]+\.tmp-/.test(name) || (old && existsSync(path.join(checkpointsDir, old[1], 'checkpoint.json')))) remove.add(name);
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
      await rm(path.join(checkpointsDir, name), { recursive: true, force: true });
      faultPoint?.('prune');
    }
  }

  /** Saves the task's checkpoint with the runner's state under `checkpoints/<name>`, then prunes. */
  async function writeCheckpoint(name: string, runner: RunnerState): Promise<void> {
    const contents = await task.checkpoint();
    const state = { runner, task: contents.state ?? null } as unknown as JsonValue;
    const fault = faultPoint;
    lastCheckpoint = await saveCheckpoint(path.join(checkpointsDir, name), { ...contents, state }, fault ? { onFileWritten: () => fault('checkpoint-write') } : {});
    faultPoint?.('checkpoint-saved');
    await pruneCheckpoints(name);
  }

  async function run(): Promise<RunSummary> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let resumedFrom: string | null = null;
    let epochLoss: number[] = [];
    // options.hooks are in place from the start, so their onError sees every failure.
    hooks.length = 0;
    hooks.push(...(options.hooks ?? []));
    try {
      // Decide fresh or resumed first, before writing anything: a folder that holds a run or other
      // files needs resume or overwrite, and a resume the run's config (planRunFolder throws).
      const plan = await planRunFolder(runDir, { resume: options.resume, overwrite: options.overwrite, config });
      const checkpointDir = plan.checkpointDir;
      let saved: { runner?: RunnerState; task?: JsonValue } | undefined;
      if (checkpointDir) {
        saved = ((await readCheckpointState(checkpointDir)) ?? {}) as typeof saved;
        if (!saved?.runner) throw new Error(`runner: ${checkpointDir} holds no runner state: it was not written by a runner`);
        // The checkpoint resumed from is the last good one, also for a file-system error before it is loaded.
        lastCheckpoint = checkpointDir;
      } else if (options.resume) {
        logger.info(`no checkpoint in ${runDir}: starting afresh`);
      }
      // Fresh: remove an earlier run's files (overwrite). Resumed: remove leftovers of interrupted
      // writes and the end-of-run files, which the continued run writes again.
      await prepareRunFolder(plan, logger);
      if (saved?.runner) {
        // Drop lines logged after the checkpoint (the interrupted epoch is run again), so that nothing logged from here on is cut away.
        metricsBytes = await cutLogTo(metricsFile, saved.runner.metricsBytes, logger);
      } else {
        await writeFileAtomic(metricsFile, '');
        metricsBytes = 0;
      }
      await writeFileAtomic(path.join(runDir, RUN_FILE.config), `${JSON.stringify(serializableConfig(config), null, 2)}\n`);

      const built: RunnerHooks<RunnerContext>[] = [];
      for (const [i, hookConfig] of config.hooks.entries()) built.push((await context.build('hook', hookConfig, `hooks[${i}]`)) as RunnerHooks<RunnerContext>);
      hooks.unshift(...built);

      if (options.sampler) sampler = options.sampler;
      else if (config.sampler) sampler = await context.build('sampler', config.sampler, 'sampler');
      else throw new Error('runner: config.sampler is missing: name a sampler in the config (or its defaults), or pass options.sampler');

      // On resume as well, setup draws from generators in their initial states, as the interrupted
      // run's setup did (initialiser seeds end up in model.json); the saved states are set after it.
      const setup = await task.setup(context);
      const labels = setup?.labels;
      if (!labels || typeof labels.length !== 'number') throw new TypeError('runner: task.setup must return { labels } (the training labels)');
      const stepsPerEpoch = sampler.batchesPerEpoch(labels);
      const totalSteps = stepsPerEpoch * config.train.epochs;

      let startEpoch = 0;
      let partial: PartialEpoch | undefined;
      if (checkpointDir && saved?.runner) {
        const targets = await task.checkpoint();
        const loaded = await loadCheckpoint(checkpointDir, { model: targets.model, models: targets.models, optimizer: targets.optimizer });
        // Every generator to its saved state; those made from here on start from theirs.
        pendingRngStates = saved.runner.rngs;
        for (const [label, rng] of rngs) if (pendingRngStates[label]) rng.setState(pendingRngStates[label]);
        await task.restore?.(saved.task, loaded);
        startEpoch = saved.runner.epochsCompleted;
        partial = saved.runner.partial;
        globalStep = saved.runner.globalStep;
        epochLoss = saved.runner.epochLoss ?? [];
        lastCheckpoint = loaded.dir;
        resumedFrom = loaded.dir;
        logger.info(`resuming from ${loaded.dir} at epoch ${startEpoch}${partial ? `, step ${partial.steps}` : ''}`);
        // A run killed while pruning left older checkpoints behind: prune as after that checkpoint's save.
        if (path.dirname(path.resolve(checkpointDir)) === checkpointsDir && parseCheckpointName(path.basename(checkpointDir))) {
          await pruneCheckpoints(path.basename(checkpointDir));
        }
      }

      const everySteps = config.checkpoint?.everySteps;
      await callHooks('beforeRun');
      for (epoch = startEpoch; epoch < config.train.epochs; epoch++) {
        const epochStarted = Date.now();
        // A mid-epoch checkpoint continues its epoch: beforeEpoch runs again (this process's hooks
        // have not seen it), then the same batches are drawn and the steps done skipped.
        const resumeAt = epoch === startEpoch ? partial : undefined;
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
          pendingRngStates = saved!.runner!.rngs;
          setRngStates(pendingRngStates);
          lossSum = Number(resumeAt.lossSum);
          secondsBefore = resumeAt.seconds;
        }
        for (let next = batches.next(); !next.done; next = batches.next()) {
          const batch = next.value;
          const info: TaskStepInfo = { epoch, step, globalStep, batchSize: batch.length, stepsPerEpoch, totalSteps };
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
          // Mid-epoch checkpoints; one due at the epoch's last step is the epoch checkpoint below.
          if (everySteps && globalStep % everySteps === 0 && step < stepsPerEpoch) {
            const seconds = secondsBefore + (Date.now() - epochStarted) / 1000;
            const at: PartialEpoch = { steps: step, epochRngs, lossSum: Number.isFinite(lossSum) ? lossSum : String(lossSum), seconds };
            await writeCheckpoint(checkpointName(epoch, step), runnerState(epoch, epochLoss, at));
          }
        }
        const extra = (await task.epochEnd?.(epoch, context)) ?? {};
        const meanLoss = step > 0 ? lossSum / step : Number.NaN;
        const epochMetrics: Record<string, number> = { loss: meanLoss, steps: step, seconds: secondsBefore + (Date.now() - epochStarted) / 1000, ...extra };
        epochLoss = [...epochLoss, meanLoss];
        await writeLine({ kind: 'epoch', epoch, ...epochMetrics });

        await callHooks('afterEpoch', epoch, epochMetrics);
        faultPoint?.('epoch-end');

        // Last, so the checkpoint holds everything the epoch did, hooks and their metrics lines included.
        await writeCheckpoint(checkpointName(epoch + 1), runnerState(epoch + 1, epochLoss));
      }

      faultPoint?.('eval');
      const results = (await task.evaluate?.(context)) ?? {};
      faultPoint?.('eval-done');
      if (Object.keys(results).length) await writeLine({ kind: 'eval', ...results });
      await callHooks('afterEval', results);

      const finished = Date.now();
      const summary: RunSummary = {
        name: config.name ?? null,
        seed: config.seed,
        epochs: config.train.epochs,
        steps: globalStep,
        epochLoss,
        finalLoss: epochLoss.length ? epochLoss[epochLoss.length - 1] : null,
        eval: results,
        resumedFrom,
        startedAt,
        finishedAt: new Date(finished).toISOString(),
        seconds: (finished - started) / 1000,
      };
      await writeFileAtomic(path.join(runDir, RUN_FILE.summary), `${JSON.stringify(summary, null, 2)}\n`);
      faultPoint?.('summary');
      await callHooks('afterRun', summary);
      return summary;
    } catch (caught) {
      // A file-system error (full disk, read-only, permissions) names the file and the last good checkpoint.
      const error = runFileError(caught, lastCheckpoint);
      for (const hook of hooks) {
        try {
          await hook.onError?.(context, error);
        } catch (hookError) {
          logger.warn(`runner: an onError hook threw: ${hookError instanceof Error ? hookError.message : String(hookError)}`);
        }
      }
      throw error;
    }
  }

  return { context, run };
}
