/**
 * `supcon train` and `supcon eval` as functions: @supcon/train's `train()` and `evaluate()` with
 * the CLI's plugins (the built-ins, with the download prompt), its backend starter (thread
 * fallback warnings) and its progress display.
 */
import { evaluate, train as trainRun } from '@supcon/train';
import type { BackendStarter, TrainResult } from '@supcon/train';
import type { Logger, Plugin, ResolveOptions, RunnerContext, RunnerHooks } from '@supcon/core';
import { progressHooks } from './progress';

export type { BackendStarter, TrainResult } from '@supcon/train';

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
  /** Continue from the run folder's last checkpoint (see @supcon/train's `TrainOptions.resume`). */
  resume?: boolean;
  /** Start afresh in a folder that holds a run or other files, removing only the files a run writes. */
  overwrite?: boolean;
  /** Extra hooks after the progress display. */
  hooks?: RunnerHooks<RunnerContext>[];
  /** Progress bar (TTY) or periodic lines (default: decided by stderr). `false`: no progress output. */
  progress?: boolean | { tty?: boolean; intervalSeconds?: number };
  logger?: Logger;
}

/** Trains as the config says; resolves when the run folder holds summary.json. */
export function train(options: TrainOptions): Promise<TrainResult> {
  const hooks: RunnerHooks<RunnerContext>[] = [];
  if (options.progress !== false) hooks.push(progressHooks(typeof options.progress === 'object' ? options.progress : {}));
  hooks.push(...(options.hooks ?? []));
  return trainRun(options.config, {
    plugins: options.plugins,
    // The CLI's caller names its defaults (main passes the built-in ones); none given means none.
    defaults: options.defaults ?? {},
    startBackend: options.startBackend,
    out: options.out,
    resume: options.resume,
    overwrite: options.overwrite,
    hooks,
    logger: options.logger,
  });
}

export interface EvalRunOptions {
  runDir: string;
  plugins: readonly Plugin[];
  defaults?: ResolveOptions['defaults'];
  startBackend: BackendStarter;
  logger?: Logger;
}

/** Re-runs the config's evaluators on a run's last checkpoint and updates summary.json. */
export function evalRun(options: EvalRunOptions): Promise<TrainResult> {
  return evaluate(options.runDir, undefined, { plugins: options.plugins, defaults: options.defaults ?? {}, startBackend: options.startBackend, logger: options.logger });
}
