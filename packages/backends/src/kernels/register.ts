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
import { gatherV2Config } from './GatherRows';
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
  gatherV2Config,
  conv2DConfig,
  fusedConv2DConfig,
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
];

let registered = false;

/**
 * Registers supcon's training kernels for the wasm backend (the configs of
 * {@link wasmTrainingKernelConfigs}), most of them supcon's own SIMD kernels
 * (native/*.c) split over the kernel threads:
 * - missing from tfjs-backend-wasm: `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter`,
 *   `DepthwiseConv2dNativeBackpropInput`;
 * - replacing the stock kernel: `Conv2DBackpropInput` (the stock one is a scalar loop), and
 *   `Identity`, which shares its input's data instead of copying it;
 * - faster for the cases a training step hits, the stock kernel for every other case: `Conv2D` and
 *   `FusedConv2D` (no bias, no activation), `Sum` and `Mean` over every axis but the last, `Cast`
 *   to the same dtype (shares the data), `Tile` of one block of size-1 axes, `GatherV2` of slices
 *   of at least 16 float32/int32 values (heap copies);
 * - supcon's own: `SupConBatchNormTraining` and `SupConBatchNormTrainingGrad`
 *   (`BATCH_NORM_TRAINING` and `BATCH_NORM_TRAINING_GRAD`, run by @supcon/backbones'
 *   `batchNormTraining` op);
 * plus two gradients without full-size temporaries, `FusedBatchNorm` (no `tile`) and `Mean` (no
 * tensor of ones). The gradient registry is global, so those apply to every backend; they are
 * mathematically the stock gradients, and are registered again on every call so that they win
 * over stock ones registered since (tfjs-layers, or `initBackend` registering tfjs's).
 * Called by `initBackend('wasm')`; safe to call more than once.
 * When the wasm backend is already initialised, also installs a heap guard so that an allocation
 * past the 4 GiB wasm32 heap throws an Error naming the limit (instead of "memory access out of
 * bounds"). Import `@tensorflow/tfjs-backend-wasm` before calling it (its kernels are composed here).
 */
export function registerWasmTrainingKernels(): void {
  installWasmMemoryGuard(findBackend('wasm') ?? undefined);
  registerGradient(fusedBatchNormGradConfig);
  registerGradient(meanGradConfig);
  if (registered) return;
  // These keep the stock kernels for the cases they do not handle.
  const overrides = [
    channelSumConfig,
    channelMeanConfig,
    castConfig,
    tileConfig,
    gatherV2Config,
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
  registered = true;
}
