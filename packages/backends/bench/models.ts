/**
 * Benchmark models, layer for layer the same as train_step_torch.py: conv-BN-ReLU residual
 * blocks (3x3 convs, no bias, 1x1 conv + BN shortcut when the shape changes), global average
 * pooling and a linear projection; plus the contrastive loss of the torch script.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
// A devDependency: the bench runs @supcon/backbones' BatchNorm layer (built first: `npm run bench`
// runs after its dependencies' builds).
import { BatchNorm } from '@supcon/backbones';

export interface ModelSpec {
  name: string;
  inChannels: number;
  size: number;
  stem: number;
  stages: [channels: number, blocks: number, stride: number][];
  projection: number;
}

export const MODELS: Record<'small' | 'resnet18', ModelSpec> = {
  small: {
    name: 'small',
    inChannels: 1,
    size: 28,
    stem: 32,
    stages: [
      [32, 1, 1],
      [64, 1, 2],
      [128, 1, 2],
    ],
    projection: 64,
  },
  resnet18: {
    name: 'resnet18',
    inChannels: 3,
    size: 32,
    stem: 64,
    stages: [
      [64, 2, 1],
      [128, 2, 2],
      [256, 2, 2],
      [512, 2, 2],
    ],
    projection: 128,
  },
};

/**
 * Which batch-norm layer the models use: 'supcon' (default; @supcon/backbones' BatchNorm, one op
 * with a hand-written gradient and native kernels on wasm) or 'tfjs' (tf.layers.batchNormalization).
 * Same weights, same maths.
 */
export let batchNormKind: 'supcon' | 'tfjs' = 'supcon';
export function setBatchNormKind(kind: 'supcon' | 'tfjs'): void {
  batchNormKind = kind;
}
const bn = (): tfl.layers.Layer =>
  batchNormKind === 'tfjs'
    ? tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.99 })
    : new BatchNorm({ epsilon: 1e-3, momentum: 0.99 });
const conv = (filters: number, kernelSize: number, strides: number) =>
  tfl.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false });

function block(
  x: tfl.SymbolicTensor,
  cin: number,
  cout: number,
  stride: number,
): tfl.SymbolicTensor {
  let y = conv(cout, 3, stride).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.reLU().apply(bn().apply(y)) as tfl.SymbolicTensor;
  y = bn().apply(conv(cout, 3, 1).apply(y)) as tfl.SymbolicTensor;
  const short =
    stride !== 1 || cin !== cout
      ? (bn().apply(conv(cout, 1, stride).apply(x)) as tfl.SymbolicTensor)
      : x;
  return tfl.layers.reLU().apply(tfl.layers.add().apply([y, short])) as tfl.SymbolicTensor;
}

/** Builds the model (NHWC input [size, size, inChannels], output [projection]). */
export function buildModel(spec: ModelSpec): tfl.LayersModel {
  const input = tfl.input({ shape: [spec.size, spec.size, spec.inChannels] });
  let y = tfl.layers
    .reLU()
    .apply(bn().apply(conv(spec.stem, 3, 1).apply(input))) as tfl.SymbolicTensor;
  let c = spec.stem;
  for (const [cout, n, stride] of spec.stages) {
    for (let i = 0; i < n; i++) {
      y = block(y, c, cout, i === 0 ? stride : 1);
      c = cout;
    }
  }
  y = tfl.layers.globalAveragePooling2d({}).apply(y) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: spec.projection }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** Cross-entropy of softmax(similarity / T) against the same-label distribution (self excluded). */
export function contrastiveLoss(z: tf.Tensor2D, labels: tf.Tensor1D, temperature = 0.1): tf.Scalar {
  return tf.tidy(() => {
    const b = z.shape[0];
    const zn = tf.div(z, tf.maximum(tf.norm(z, 2, 1, true), 1e-12));
    const eye = tf.eye(b);
    const sim = tf.sub(tf.div(tf.matMul(zn, zn, false, true), temperature), tf.mul(eye, 1e9));
    const same = tf.cast(tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), 'float32');
    const pos = tf.mul(same, tf.sub(1, eye));
    const target = tf.div(pos, tf.maximum(tf.sum(pos, 1, true), 1));
    return tf.mean(tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(sim, 1)), 1))) as tf.Scalar;
  });
}
