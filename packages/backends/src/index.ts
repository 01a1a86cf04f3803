/**
 * @supcon/backends for Node (the `node` export condition, and `@supcon/backends/node`): start a
 * tfjs backend (`initBackend`), and the wasm training kernels that make convolutional training
 * possible and fast on CPUs. Importing registers nothing. Browsers get browser.ts, the same API
 * without what only Node can do (the libtensorflow backends, worker threads, `probeBackends`).
 */
export { initBackend } from './node/init';
export { probeBackends } from './node/probe';
export type { BackendProbe } from './node/probe';
export { BACKEND_NAMES, AUTO_ORDER } from './names';
export type { BackendName, ConcreteBackend } from './names';
export { BackendUnavailableError } from './errors';
export type { InitBackendOptions, ModuleLoader, WasmPaths, WasmBinaryName } from './options';
export { wasmFeatures, wasmThreadsInUse, wasmKernelsInfo } from './features';
export type { WasmFeatures } from './features';
export { WASM_MAX_THREADS } from './threads';
export { registerWasmTrainingKernels, wasmTrainingKernelConfigs } from './kernels/register';
export { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './kernels/BatchNormTraining';
export { nativeKernelsSupported } from './native/train_kernels';
export type { NativeKernelsInfo } from './native/train_kernels';
