/**
 * @supcon/train in a browser (the `browser` export condition): the same `train()` and
 * `evaluate()`, with config objects, and runs in memory (default) or IndexedDB:
 *
 *   import { train } from '@supcon/train';
 *   import { indexedDbStorage } from '@supcon/core';
 *   const { summary } = await train(config, { storage: indexedDbStorage({ run: 'my-run' }), backendOptions: { wasmPaths: '/wasm/' } });
 */
import { memoryStorage } from '@supcon/core';
import type { RunStorage } from '@supcon/core';
import { configRecord, evaluateOn, trainOn } from './run';
import type { ConfigSource, EvaluateOptions, Platform, TrainOptions, TrainResult } from './run';

export * from './shared';
export { exportEncoder, loadEncoder } from './export-browser';

const browserPlatform: Platform = {
  async loadConfig(config) {
    if (typeof config === 'string') throw new TypeError(`train: config files are Node-only; in a browser pass the config as an object (got ${JSON.stringify(config)})`);
    return { raw: configRecord(config, 'train') };
  },
  storageFor: (config) => memoryStorage(config.name ?? 'run'),
  // Threads need a cross-origin isolated page; elsewhere one thread, without a warning for the default.
  autoThreads: () => (globalThis.crossOriginIsolated ? Math.max(1, Math.min(globalThis.navigator?.hardwareConcurrency ?? 1, 8)) : 1),
};

/** Trains as `config` (an object) says and evaluates the encoder; see the Node entry. */
export function train(config: ConfigSource, options: TrainOptions = {}): Promise<TrainResult> {
  return trainOn(browserPlatform, config, options);
}

/** Re-runs the evaluators on a run kept in `run` (e.g. `indexedDbStorage({ run })`); see the Node entry. */
export function evaluate(run: RunStorage, config?: ConfigSource, options: EvaluateOptions = {}): Promise<TrainResult> {
  return evaluateOn(browserPlatform, run, config, options);
}
