/**
 * Kernel configs that replace a stock wasm kernel for the cases supcon handles faster and hand
 * every other case to the stock kernel they replace.
 */
import { getKernel } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/** A kernel config with `install()`, which remembers the stock kernel (call it before registering). */
export type OverrideConfig = KernelConfig & { install(): void };

/**
 * `fast(args)` returns the output, or `undefined` to run the stock kernel on the same arguments.
 * @throws Error naming the kernel when the stock one is needed but was never installed.
 */
export function overrideWasmKernel(
  kernelName: string,
  fast: (args: Parameters<KernelFunc>[0]) => TensorInfo | undefined,
): OverrideConfig {
  let stock: KernelFunc | undefined;
  const kernelFunc: KernelFunc = (args) => {
    const out = fast(args);
    if (out !== undefined) return out;
    if (stock === undefined)
      throw new Error(
        `${kernelName} (wasm): the stock kernel is not registered (initialise the wasm backend first)`,
      );
    return stock(args);
  };
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc,
    install() {
      const current = getKernel(kernelName, 'wasm');
      if (current != null && current.kernelFunc !== kernelFunc) stock = current.kernelFunc;
    },
  };
}
