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
export { WASM_MAX_THREADS } from './wasm_threads';
export { batchNormTraining } from './batch_norm';
export { nativeKernelsSupported } from './native/train_kernels';
export type { BatchNormTrainingResult } from './batch_norm';
export type { NativeKernelsInfo } from './native/train_kernels';
