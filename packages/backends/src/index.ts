/**
 * @supcon/backends: start a tfjs backend (`initBackend`), and the wasm training kernels that make
 * convolutional training possible and fast on CPUs. Importing registers nothing.
 */
export {
  initBackend,
  probeBackends,
  wasmFeatures,
  wasmThreadsInUse,
  wasmKernelsInfo,
  BackendUnavailableError,
  BACKEND_NAMES,
  AUTO_ORDER,
} from './init';
export type {
  BackendName,
  ConcreteBackend,
  InitBackendOptions,
  ModuleLoader,
  BackendProbe,
  WasmFeatures,
} from './init';
export { registerWasmTrainingKernels, wasmTrainingKernelConfigs } from './kernels/register';
export { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './kernels/BatchNormTraining';
export { WASM_MAX_THREADS } from './wasm_threads';
export { nativeKernelsSupported } from './native/train_kernels';
export type { NativeKernelsInfo } from './native/train_kernels';
