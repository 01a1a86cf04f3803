/**
 * @supcon/backends: start a tfjs backend (`initBackend`), and the wasm training kernels that make
 * convolutional training possible and fast on CPUs. Importing registers nothing.
 */
export { initBackend, probeBackends, wasmFeatures, BackendUnavailableError, BACKEND_NAMES, AUTO_ORDER } from './init';
export type { BackendName, ConcreteBackend, InitBackendOptions, BackendProbe, WasmFeatures } from './init';
export { registerWasmTrainingKernels, wasmTrainingKernelConfigs } from './kernels/register';
export {
  initBackend,
  backendInfo,
  probeBackends,
  defaultModuleLoader,
  BackendUnavailableError,
  BACKEND_NAMES,
  AUTO_ORDER,
  BACKEND_PACKAGES,
} from './init';
export type { BackendName, ResolvedBackendName, ModuleLoader, InitBackendOptions, BackendInfo, BackendProbe } from './init';
