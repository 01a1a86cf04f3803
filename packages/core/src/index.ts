/**
 * @supcon/core: plugin and registry types, typed configs, the runner and its hooks, seeded
 * randomness and checkpoints. Importing this module registers nothing and starts nothing.
 */
// Everything that also works in browsers (see browser.ts), then the parts that read and write files.
export * from './browser';
export { loadConfigFile, findConfigFile, CONFIG_FILE_NAMES } from './load';
export { saveCheckpoint, loadCheckpoint, readCheckpointState, latestCheckpoint, checkpointName, parseCheckpointName, disposeLoadedTensors, CHECKPOINT_FORMAT_VERSION } from './checkpoint';
export { createRunner } from './runner';
export { writeFileAtomic, appendLine, runFileError, SupconFileError } from './atomic';
export { RUN_FILE, RUN_FILES, RESUME_MAY_CHANGE, isRunFile, planRunFolder, prepareRunFolder, configChanges, serializableConfig, SupconRunFolderError } from './run-folder';
export type { ConfigChange, RunFolderOptions, RunFolderPlan, RunFolderProblem } from './run-folder';
