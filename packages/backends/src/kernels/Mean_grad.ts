/**
 * Gradient of `Mean` without a tensor of ones: tfjs's stock gradient multiplies dy by `ones(x.shape)`,
 * which it fills in JavaScript and uploads, a full activation per batch-norm moment (7% of a small
 * ResNet step on wasm). This one divides the small dy first and broadcasts it (`Tile`, which the
 * wasm backend runs natively here for this shape). Mathematically the stock gradient;
 * backend-agnostic (it uses tf ops).
 */
import { broadcastTo, div, Mean, reshape, scalar, util } from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

/** Gradient config for `Mean` (registered by `registerWasmTrainingKernels`). */
export const meanGradConfig: GradConfig = {
  kernelName: Mean,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const { axis } = attrs as unknown as { axis: number | number[] };
    const axes = util.parseAxisParam(axis, x.shape);
    const expanded = x.shape.slice();
    let count = 1;
    for (const a of axes) {
      count *= x.shape[a]!;
      expanded[a] = 1;
    }
    return {
      x: () => broadcastTo(div(reshape(dy as Tensor, expanded), scalar(count)), x.shape),
    };
  },
};
