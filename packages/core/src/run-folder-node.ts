/** `planRunFolder` for a folder on disk (Node): paths in, a plan over a `nodeStorage` out. */
import path from 'node:path';
import { nodeStorage } from './storage/node';
import { planRunFolderIn } from './run-folder';
import type { RunFolderOptions, RunFolderPlan } from './run-folder';

/**
 * `planRunFolderIn` for the folder `runDir`; a `resume` checkpoint path is taken relative to the
 * working directory, as a user types it (it may lie outside the run folder).
 */
export function planRunFolder(runDir: string, options: RunFolderOptions): Promise<RunFolderPlan> {
  const storage = nodeStorage(runDir);
  const resume = typeof options.resume === 'string' ? path.relative(storage.location, path.resolve(options.resume)).split(path.sep).join('/') : options.resume;
  return planRunFolderIn(storage, { ...options, resume });
}
