/** `createRunner` in Node: the run's files default to the folder `outDir` (or `config.out`) on disk. */
import path from 'node:path';
import type { ResolvedConfig } from './config';
import { createRunner as createRunnerIn } from './runner';
import type { Runner, RunnerOptions } from './runner';
import { nodeStorage } from './storage/node';

/**
 * See `createRunner` of the browser entry; without `options.storage`, the run is the folder
 * `options.outDir ?? config.out` (resolved against the working directory), and a `resume`
 * checkpoint path is taken relative to the working directory, as a user types it.
 */
export function createRunner(config: ResolvedConfig, options: RunnerOptions): Runner {
  if (options.storage) return createRunnerIn(config, options);
  const storage = nodeStorage(options.outDir ?? config.out);
  const resume = typeof options.resume === 'string' ? path.relative(storage.location, path.resolve(options.resume)).split(path.sep).join('/') : options.resume;
  return createRunnerIn(config, { ...options, storage, resume });
}
