/** The Node platform of `train()` / `evaluate()`: config files, and run folders on disk. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfigFile, nodeStorage } from '@supcon/core';
import type { FolderCheck } from './preflight';
import { configRecord } from './run';
import type { Platform } from './run';

/** A data folder (`data.root`, `data.testRoot`) as a resolved path when it does not exist, for `preflight`. */
export const checkDataFolder: FolderCheck = (folder) => (existsSync(path.resolve(folder)) ? undefined : { missing: path.resolve(folder) });

export const nodePlatform: Platform = {
  async loadConfig(config) {
    if (typeof config === 'string') return { raw: await loadConfigFile(config), source: path.resolve(config) };
    return { raw: configRecord(config, 'train') };
  },
  storageFor: (config, options) => nodeStorage(options.out ?? config.out),
  checkFolder: checkDataFolder,
  autoThreads: () => Math.max(1, Math.min(availableParallelism(), 8)),
};
