/**
 * `Identity` (what `tf.clone` and every `customGrad` save run) for the wasm backend without a
 * copy: the output shares the input's data and counts a reference, as the cpu backend does and
 * as the wasm `Reshape` kernel already does. tfjs never writes into a tensor's data after it is
 * made (a variable's `assign` swaps in new data), so sharing is safe; the stock wasm kernel
 * copies the whole tensor, several times per convolution in a training step.
 */
import { Identity } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { reshape } from './wasm_ops';

const kernelFunc: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  return reshape(x, [...x.shape], backend);
};

/** Kernel config: `Identity` on `wasm` (shares the data; replaces the stock copying kernel). */
export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc,
};
