/**
 * `train()` and `evaluate()` for every platform: resolve a config with the built-in plugins, start
 * its backend, and run @supcon/core's runner with the training procedure. What differs between
 * Node and a browser (config files, where the run's files go) comes in as a `Platform`.
 */
import { RUN_FILE, createRegistry, createRunner, latestCheckpointIn, planRunFolderIn, readText, resolveConfig } from '@supcon/core';
import type { Logger, Plugin, ResolveOptions, ResolvedConfig, RunStorage, RunSummary, RunnerContext, RunnerHooks } from '@supcon/core';
import { initBackend, wasmThreadsInUse } from '@supcon/backends';
import { getBackend } from '@tensorflow/tfjs-core';
import { builtinDefaults, builtinPlugins } from './builtins';
import { createProcedure } from './procedure';
import { profiledStorage } from './profile';
import type { StepProfile } from './profile';
import type { FolderCheck } from './preflight';
import { configIssues } from './preflight';
import { SupconConfigError } from '@supcon/core';

/** Starts the config's backend; `threads` is the config's wasm thread count ('auto' or 1..8). Resolves to the backend's name. */
export type BackendStarter = (name: ResolvedConfig['backend'], threads?: ResolvedConfig['threads']) => Promise<string>;

/**
 * A config: an object (validated like a file: a plain object, `defineConfig(...)`'s result, or a
 * resolved config), or, in Node, the path of a config file.
 */
export type ConfigSource = string | object;

/**
 * A config given as an object, as the record the validator reads.
 * @throws TypeError naming `who`'s `config` argument for an array, a function or null.
 */
export function configRecord(config: object, who: string): Record<string, unknown> {
  if (config === null || Array.isArray(config) || typeof config !== 'object')
    throw new TypeError(`${who}: config must be an object (or, in Node, a config file path), got ${Array.isArray(config) ? 'an array' : typeof config}`);
  return config as Record<string, unknown>;
}

export interface TrainOptions {
  /** Plugins registered before the config's own; default the built-in plugins (`builtinPlugins`). */
  plugins?: readonly Plugin[];
  /** Part configs for the slots a config leaves out; default `builtinDefaults`. */
  defaults?: ResolveOptions['defaults'];
  /**
   * Where the run's files go. Node: default the folder `out` (or the config's `out`) on disk.
   * Browsers: default `memoryStorage()`; pass `indexedDbStorage({ run })` to keep the run.
   */
  storage?: RunStorage;
  /** Node: the run folder, instead of the config's `out`. */
  out?: string;
  /**
   * Continue from the run's last checkpoint. The config must be the run's (config.json), but for
   * a larger `train.epochs` and `out`, `threads`, `name`, `checkpoint`, `eval`: otherwise it throws
   * listing the changed keys, before anything is written.
   */
  resume?: boolean;
  /** Start afresh where a run (or other files) is, removing only the files a run writes. */
  overwrite?: boolean;
  /** Hooks after the config's own (progress display, early stopping, ...). */
  hooks?: readonly RunnerHooks<RunnerContext>[];
  /** Default: messages to console.error / console.warn. */
  logger?: Logger;
  /**
   * How the backend starts; default `initBackend(config.backend, { threads, ...backendOptions })`
   * of @supcon/backends. `false`: use the tfjs backend already set.
   */
  startBackend?: BackendStarter | false;
  /** Options for the default starter, e.g. `{ wasmPaths }` in a browser (where the .wasm files are served). */
  backendOptions?: Omit<NonNullable<Parameters<typeof initBackend>[1]>, 'threads'>;
  /** The per-epoch 20-NN monitor of the report's curve (default on). */
  monitor?: boolean;
  /**
   * Collect the training loop's milliseconds per phase (batching, augmentation, forward, loss,
   * backward, optimizer, monitor, I/O, idle) into this profile; read `profile.report()` once
   * `train()` resolves. Default none: no timers run. Changes no number of the run.
   */
  profile?: StepProfile;
  /**
   * Stop cleanly when aborted: the step under way finishes, its checkpoint is written, and
   * `train()` rejects with a `SupconRunStoppedError` (@supcon/core) naming it; `resume: true`
   * then continues with the weights an uninterrupted run would have.
   */
  signal?: AbortSignal;
}

export interface TrainResult {
  /** summary.json: `summary.eval.linearProbe.top1` and every other evaluator's result, the run's facts. */
  summary: RunSummary;
  /** Where the run is: its folder (absolute) in Node, the storage's location elsewhere. */
  runDir: string;
  /** Its files (metrics.jsonl, checkpoints, ...). */
  storage: RunStorage;
}

/** What Node and browsers do differently. */
export interface Platform {
  /** A config object as it is, or a config file read (Node), with the file's path. */
  loadConfig(config: ConfigSource): Promise<{ raw: Record<string, unknown>; source?: string }>;
  /** The storage of a run when `options.storage` is not given. */
  storageFor(config: ResolvedConfig, options: { out?: string }): RunStorage;
  /** Data folders that do not exist (Node), checked before the backend starts. */
  checkFolder?: FolderCheck;
  /** wasm threads for `threads: 'auto'`: the CPUs (Node), or the page's cores when it is cross-origin isolated; at most 8. */
  autoThreads(): number;
}

/** The wasm backend's thread count, for summary.json; undefined on other backends. */
function threadsInUse(): number | undefined {
  return getBackend() === 'wasm' ? wasmThreadsInUse() : undefined;
}

/**
 * Starts the backend. `threads: 'auto'` falls back to one thread (with a warning) if the threaded
 * wasm build cannot start; an explicit count that cannot be honoured is an error.
 */
async function startBackendFor(platform: Platform, config: ResolvedConfig, options: Pick<TrainOptions, 'startBackend' | 'backendOptions' | 'logger'>): Promise<string | undefined> {
  if (options.startBackend === false) return undefined;
  if (options.startBackend) return options.startBackend(config.backend, config.threads);
  const auto = config.threads === 'auto' || config.threads === undefined;
  const warn = options.logger?.warn ?? ((m: string) => console.warn(m));
  return initBackend(config.backend, {
    ...(options.backendOptions ?? {}),
    threads: auto ? platform.autoThreads() : (config.threads as number),
    ...(auto ? { onThreadsFallback: (reason: string) => warn(`warning: ${reason}; continuing on one thread`) } : {}),
  });
}

function resolve(raw: Record<string, unknown>, options: Pick<TrainOptions, 'plugins' | 'defaults'>, source?: string): { config: ResolvedConfig; registry: ReturnType<typeof createRegistry> } {
  const registry = createRegistry(options.plugins ?? builtinPlugins);
  const config = resolveConfig(raw, registry, { defaults: options.defaults ?? builtinDefaults, source });
  return { config, registry };
}

/** `train()` on a platform; see the entries (index.ts, browser.ts). */
export async function trainOn(platform: Platform, source: ConfigSource, options: TrainOptions = {}): Promise<TrainResult> {
  const { raw, source: file } = await platform.loadConfig(source);
  const { config, registry } = resolve(raw, options, file);
  if (options.out) config.out = options.out;
  const storage = options.storage ?? platform.storageFor(config, options);
  // Refuse what cannot run (a missing data folder, a folder holding a run without resume or
  // overwrite, a resume with another config) before the backend starts; the runner checks again.
  const missing = configIssues(config, platform.checkFolder);
  if (missing.length) throw new SupconConfigError(missing, file);
  await planRunFolderIn(storage, { resume: options.resume, overwrite: options.overwrite, config });
  const backend = await startBackendFor(platform, config, options);
  const { profile } = options;
  const procedure = createProcedure({ backend, threads: threadsInUse(), monitor: options.monitor, ...(profile ? { profile } : {}) });
  // With a profile, the runner's storage calls are timed as its I/O.
  const runnerStorage = profile ? profiledStorage(storage, profile) : storage;
  const runner = createRunner(config, { registry, task: procedure, storage: runnerStorage, hooks: options.hooks, resume: options.resume, overwrite: options.overwrite, logger: options.logger, ...(options.signal ? { signal: options.signal } : {}) });
  const summary = await runner.run();
  if (file) await storage.write(RUN_FILE.source, `${JSON.stringify({ configFile: file }, null, 2)}\n`);
  return { summary, runDir: runner.context.runDir, storage };
}

export interface EvaluateOptions extends Omit<TrainOptions, 'out' | 'resume' | 'overwrite' | 'monitor' | 'profile' | 'signal'> {
  /** The checkpoint to evaluate (a path in the storage); default the run's latest. */
  checkpoint?: string;
}

/**
 * `evaluate()` on a platform: re-runs the config's evaluators on a run's checkpoint and updates
 * its summary.json (results of other evaluators kept). Without `config`, the run's own is used:
 * its config file (source.json) when it still exists, else config.json (built-in plugins only).
 */
export async function evaluateOn(platform: Platform, storage: RunStorage, config: ConfigSource | undefined, options: EvaluateOptions = {}): Promise<TrainResult> {
  if (!options.checkpoint && !(await latestCheckpointIn(storage))) {
    const what = (await storage.kind('')) === 'missing' ? 'does not exist' : 'holds no checkpoint';
    throw new Error(`${storage.location} ${what}: train first, then evaluate the run`);
  }
  let loaded: { raw: Record<string, unknown>; source?: string };
  if (config !== undefined) loaded = await platform.loadConfig(config);
  else loaded = await runConfig(platform, storage, options.plugins ?? builtinPlugins);
  const { config: resolved, registry } = resolve(loaded.raw, options, loaded.source);
  const backend = await startBackendFor(platform, resolved, options);
  const procedure = createProcedure({ backend, monitor: false });
  const runner = createRunner(resolved, { registry, task: procedure, storage, hooks: options.hooks, logger: options.logger });
  const summary = await runner.evaluate(options.checkpoint);
  return { summary, runDir: runner.context.runDir, storage };
}

/** The config a run was trained with: its file when source.json names one that is still there, else config.json. */
async function runConfig(platform: Platform, storage: RunStorage, plugins: readonly Plugin[]): Promise<{ raw: Record<string, unknown>; source?: string }> {
  const sourceText = await readText(storage, RUN_FILE.source);
  const configFile = sourceText ? (JSON.parse(sourceText) as { configFile?: string }).configFile : undefined;
  if (configFile) {
    try {
      return await platform.loadConfig(configFile);
    } catch {
      // Gone or unreadable: fall back to config.json.
    }
  }
  const text = await readText(storage, RUN_FILE.config);
  if (text === undefined) throw new Error(`${storage.location} holds no config.json: it is not a run folder (pass the config to evaluate)`);
  const raw = JSON.parse(text) as Record<string, unknown>;
  // Only the resolved config is left: its plugins are names, so only built-in parts can be rebuilt.
  const builtin = new Set(plugins.map((p) => p.name));
  const missing = ((raw.plugins ?? []) as { name: string }[]).filter((p) => !builtin.has(p.name));
  if (missing.length) throw new Error(`${storage.location}: its config used plugins ${missing.map((p) => p.name).join(', ')}, and the config file is gone: pass the config to evaluate`);
  delete raw.plugins;
  return { raw };
}
