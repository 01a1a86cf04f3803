/**
 * Registers supcon's training kernels for the wasm backend (the ones tfjs-backend-wasm lacks or
 * runs slowly). Called once by `initBackend('wasm')`; safe to call more than once.
 * (Placeholder: filled by the wasm-kernels work.)
 */
export function registerWasmTrainingKernels(): void {
  // intentionally empty until the kernels land
}
