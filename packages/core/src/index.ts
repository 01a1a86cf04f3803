/**
 * @supcon/core: plugin and registry types, typed configs, the runner and its hooks, seeded
 * randomness, run storage and checkpoints. Importing this module registers nothing and starts nothing.
 */
// Everything that also works in browsers (see browser.ts), then the parts that read and write files on disk.
export * from './browser';
export { loadConfigFile, findConfigFile, CONFIG_FILE_NAMES } from './load';
export { saveCheckpoint, loadCheckpoint, readCheckpointState, latestCheckpoint } from './checkpoint/node';
export { createRunner } from './runner-node';
export { nodeStorage } from './storage/node';
export { writeFileAtomic, appendLine } from './atomic';
export { planRunFolder } from './run-folder-node';
