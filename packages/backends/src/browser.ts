/**
 * @supcon/backends for browsers (the `browser` export condition): `initBackend('wasm' | 'cpu' |
 * 'webgl' | 'webgpu' | 'auto', { wasmPaths, threads })` and the wasm training kernels, with nothing
 * that needs Node.
 * The Node entry (index.ts) adds the libtensorflow backends, threads through worker_threads and
 * `probeBackends`. Importing registers nothing.
 */
export { initBackend } from './browser/init';
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
