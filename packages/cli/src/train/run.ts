/**
 * `supcon train` and `supcon eval` as functions: load and validate a config with the built-in
 * plugins, start the backend it names, run @supcon/core's runner with the training task, and
 * write summary.json with the keys reports and comparisons read.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  RUN_FILE,
  createRegistry,
  createRunner,
  latestCheckpoint,
  loadCheckpoint,
  loadConfigFile,
  planRunFolder,
  resolveConfig,
  runFileError,
  writeFileAtomic,
} from '@supcon/core';
import type { EvalResult, Logger, Plugin, ResolveOptions, ResolvedConfig, RunnerContext, RunnerHooks } from '@supcon/core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createTrainingTask } from './task';
import type { TrainingTask } from './task';
import { progressHooks } from './progress';

/** How `train`/`evalRun` start a backend: `initBackend` from @supcon/backends in the CLI. */
/** Starts the config's backend; `threads` is the config's wasm thread count ('auto' or 1..8). */
export type BackendStarter = (name: ResolvedConfig['backend'], threads?: ResolvedConfig['threads']) => Promise<string>;

export interface TrainOptions {
  /** A config file path, or a raw config object (validated the same way). */
  config: string | Record<string, unknown>;
  /** Plugins registered before the config's own (the CLI's built-ins). */
  plugins: readonly Plugin[];
  /** Default part configs for the parts a config omits. */
  defaults?: ResolveOptions['defaults'];
  startBackend: BackendStarter;
  /** Override `config.out`. */
  out?: string;
  /**
   * Continue from the run folder's last checkpoint. The config must be the run's (config.json),
   * but for a larger `train.epochs` and `out`, `threads`, `name`, `checkpoint`: otherwise it throws listing the
   * changed keys, before anything is written.
   */
  resume?: boolean;
  /**
   * Start afresh in a folder that holds a run or other files, removing only the files a run
   * writes (`RUN_FILES`). Without `resume` or `overwrite` the folder must be missing or empty.
   */
  overwrite?: boolean;
  /** Extra hooks after the progress display. */
  hooks?: RunnerHooks<RunnerContext>[];
  /** Progress bar (TTY) or periodic lines (default: decided by stderr). `false`: no progress output. */
  progress?: boolean | { tty?: boolean; intervalSeconds?: number };
  logger?: Logger;
}

export interface TrainResult {
  runDir: string;
  summary: Record<string, unknown>;
}

/** Writes JSON atomically (temporary file, fsync, rename); a file-system error names the file and `lastCheckpoint`. */
async function writeJsonAtomic(file: string, value: unknown, lastCheckpoint: string | undefined): Promise<void> {
  try {
    await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
  } catch (error) {
    throw runFileError(error, lastCheckpoint);
  }
}

async function loadRaw(config: TrainOptions['config']): Promise<{ raw: Record<string, unknown>; source?: string }> {
  if (typeof config === 'string') return { raw: await loadConfigFile(config), source: path.resolve(config) };
  return { raw: config };
}

/** summary.json = the runner's summary + the task's facts + each evaluator's result at the top level (`linearProbe.top1`). */
function mergeSummary(summary: Record<string, unknown>, task: TrainingTask, results: Record<string, EvalResult>): Record<string, unknown> {
  const seconds = typeof summary.seconds === 'number' ? summary.seconds : undefined;
  return { ...summary, ...task.summaryFields(), ...results, eval: results, wallTimeSeconds: seconds };
}

/** Trains as the config says; resolves when the run folder holds summary.json. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { raw, source } = await loadRaw(options.config);
  const registry = createRegistry(options.plugins);
  const config = resolveConfig(raw, registry, { defaults: options.defaults, source });
  if (options.out) config.out = options.out;
  // Refuse a folder that holds a run or other files (without resume / overwrite), or a resume with
  // another config, before the backend starts; the runner checks again before it writes.
  await planRunFolder(config.out, { resume: options.resume, overwrite: options.overwrite, config });
  const backend = await options.startBackend(config.backend, config.threads);
  const task = createTrainingTask({ backend });
  const hooks: RunnerHooks<RunnerContext>[] = [];
  if (options.progress !== false) hooks.push(progressHooks(typeof options.progress === 'object' ? options.progress : {}));
  hooks.push(...(options.hooks ?? []));
  const runner = createRunner(config, { registry, task, hooks, resume: options.resume, overwrite: options.overwrite, logger: options.logger });
  const runDir = runner.context.runDir;
  const summary = (await runner.run()) as unknown as Record<string, unknown>;
  const merged = mergeSummary(summary, task, summary.eval as Record<string, EvalResult>);
  await writeJsonAtomic(path.join(runDir, RUN_FILE.summary), merged, runner.context.lastCheckpoint);
  if (source) await writeJsonAtomic(path.join(runDir, RUN_FILE.source), { configFile: source }, runner.context.lastCheckpoint);
  return { runDir, summary: merged };
}

export interface EvalRunOptions {
  runDir: string;
  plugins: readonly Plugin[];
  defaults?: ResolveOptions['defaults'];
  startBackend: BackendStarter;
  logger?: Logger;
}

/**
 * Re-runs the config's evaluators on a run's last checkpoint (e.g. after adding an evaluator,
 * or for a run that was stopped before its evaluation) and updates summary.json.
 */
export async function evalRun(options: EvalRunOptions): Promise<TrainResult> {
  const runDir = path.resolve(options.runDir);
  const checkpoint = await latestCheckpoint(runDir);
  if (!checkpoint) throw new Error(`${runDir} holds no checkpoint: train first (\`supcon train --config F --out ${options.runDir}\`)`);
  const sourceFile = path.join(runDir, RUN_FILE.source);
  const configFile = existsSync(sourceFile) ? (JSON.parse(await readFile(sourceFile, 'utf8')) as { configFile?: string }).configFile : undefined;
  let raw: Record<string, unknown>;
  if (configFile && existsSync(configFile)) {
    raw = await loadConfigFile(configFile);
  } else {
    // Only the resolved config is left: its plugins are names, so only built-in parts can be rebuilt.
    raw = JSON.parse(await readFile(path.join(runDir, RUN_FILE.config), 'utf8')) as Record<string, unknown>;
    const builtin = new Set(options.plugins.map((p) => p.name));
    const missing = ((raw.plugins ?? []) as { name: string }[]).filter((p) => !builtin.has(p.name));
    if (missing.length) throw new Error(`${runDir}: its config used plugins ${missing.map((p) => p.name).join(', ')}, and the config file is gone`);
    delete raw.plugins;
  }
  const registry = createRegistry(options.plugins);
  const config = resolveConfig(raw, registry, { defaults: options.defaults, source: configFile });
  config.out = runDir;
  const backend = await options.startBackend(config.backend, config.threads);
  const task = createTrainingTask({ backend });
  const runner = createRunner(config, { registry, task, logger: options.logger });
  // The runner is not run: give setup the sampler it builds before setup (rng 'sampler', as the runner does).
  const sampler = config.sampler ? await runner.context.build('sampler', config.sampler, 'sampler') : undefined;
  const context: RunnerContext = sampler ? Object.create(runner.context, { sampler: { value: sampler } }) : runner.context;
  await task.setup(context);
  const { model } = (await task.checkpoint()) as { model: LayersModel };
  await loadCheckpoint(checkpoint, { model });
  let results: Record<string, EvalResult>;
  try {
    // The evaluation writes embedding-map.json: a file-system error names it and the checkpoint.
    results = (await task.evaluate?.(context)) ?? {};
  } catch (error) {
    throw runFileError(error, checkpoint);
  }
  const summaryFile = path.join(runDir, RUN_FILE.summary);
  const previous = existsSync(summaryFile) ? (JSON.parse(await readFile(summaryFile, 'utf8')) as Record<string, unknown>) : {};
  const before = { ...previous, ...task.summaryFields() };
  // Keep the training throughput of the original run: this process did not train.
  if (typeof previous.imagesPerSecond === 'number') before.imagesPerSecond = previous.imagesPerSecond;
  const merged = { ...before, ...results, eval: { ...((previous.eval as object) ?? {}), ...results }, evaluatedFrom: checkpoint };
  await writeJsonAtomic(summaryFile, merged, checkpoint);
  return { runDir, summary: merged };
}
