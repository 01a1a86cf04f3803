/** What both entries (Node and browser) export besides `train` and `evaluate`. */
export { builtinPlugins, builtinDefaults, defineConfig } from './builtins';
export { createProcedure, stageOf, encodeDataset, monitorAccuracy } from './procedure';
export type { Procedure, ProcedureOptions, Stage } from './procedure';
export { configIssues, trainabilityIssues, assertTrainable, preflight } from './preflight';
export type { FolderCheck, TrainabilityInput } from './preflight';
export { pca2d } from './pca';
export { PROFILE_PHASES, StepProfile, profiledStorage } from './profile';
export type { ProfilePhase, StepProfileOptions, StepProfileReport } from './profile';
export type { BackendStarter, ConfigSource, EvaluateOptions, TrainOptions, TrainResult } from './run';
export { ENCODER_FORMAT, ENCODER_FORMAT_VERSION, ENCODER_NORMALIZATION, ENCODER_METADATA_FILE, ENCODER_MODEL_FILE, isEncoderExportFile, checkEncoderMetadata } from './export';
export type { EncoderMetadata, ExportEncoderOptions, ExportEncoderResult, LoadedEncoder } from './export';
