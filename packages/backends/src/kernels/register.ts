import {
  findBackend,
  getKernel,
  registerGradient,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { batchNormTrainingConfig, batchNormTrainingGradConfig } from './BatchNormTraining';
import { castConfig, tileConfig } from './CastTile';
import { channelMeanConfig, channelSumConfig } from './ChannelReduce';
import { conv2DConfig, fusedConv2DConfig } from './Conv2D';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput';
import { fusedBatchNormGradConfig } from './FusedBatchNorm_grad';
import { identityConfig } from './Identity';
import { meanGradConfig } from './Mean_grad';
import { installWasmMemoryGuard } from './memory_guard';

/** The kernel configs `registerWasmTrainingKernels` installs, one per kernel (all `backendName: 'wasm'`). */
export const wasmTrainingKernelConfigs: readonly KernelConfig[] = [
  conv2DBackpropInputConfig,
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  channelSumConfig,
  channelMeanConfig,
  identityConfig,
  castConfig,
  tileConfig,
  conv2DConfig,
  fusedConv2DConfig,
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
];

let registered = false;

/**
 * Registers supcon's training kernels for the wasm backend: `Conv2DBackpropFilter`,
 * `DepthwiseConv2dNativeBackpropFilter`, `DepthwiseConv2dNativeBackpropInput` (missing from
 * tfjs-backend-wasm) and a faster `Conv2DBackpropInput` (replacing the stock one), all built on the
 * backend's XNNPACK convolutions; `Sum` and `Mean` that reduce channel-last tensors over every
 * axis but the last without the stock kernels' transpose (other reductions go to the stock ones);
 * an `Identity` that shares its input's data instead of copying it; plus a tile-free `FusedBatchNorm` gradient (the
 * gradient registry is global, so that one applies to every backend; it is mathematically the
 * stock gradient). Called once by `initBackend('wasm')`; safe to call more than once.
 * When the wasm backend is already initialised, also installs a heap guard so that an allocation
 * past the 4 GiB wasm32 heap throws an Error naming the limit (instead of "memory access out of
 * bounds"). Import `@tensorflow/tfjs-backend-wasm` before calling it (its kernels are composed here).
 */
export function registerWasmTrainingKernels(): void {
  installWasmMemoryGuard(findBackend('wasm') ?? undefined);
  if (registered) return;
  // These keep the stock kernels for the cases they do not handle.
  const overrides = [
    channelSumConfig,
    channelMeanConfig,
    castConfig,
    tileConfig,
    conv2DConfig,
    fusedConv2DConfig,
  ];
  for (const config of overrides) config.install();
  for (const config of wasmTrainingKernelConfigs) {
    if (getKernel(config.kernelName, config.backendName) != null) {
      unregisterKernel(config.kernelName, config.backendName);
    }
    registerKernel(config);
  }
  registerGradient(fusedBatchNormGradConfig);
  registerGradient(meanGradConfig);
  registered = true;
}
