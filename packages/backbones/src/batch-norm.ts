import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNormTraining } from './batch-norm-op';

export interface BatchNormOptions {
  /** Weight of the old running statistics in each update (tfjs/Keras convention; PyTorch's momentum 0.1 is 0.9 here). Default 0.99. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-3. */
  epsilon?: number;
  /** Learn an offset beta (default true). */
  center?: boolean;
  /** Learn a scale gamma (default true). */
  scale?: boolean;
  /** Initial gamma: 'ones' (default) or 'zeros' (zero-init residual branches). */
  gammaInitializer?: 'ones' | 'zeros';
  name?: string;
  /** false freezes gamma and beta (and is kept through save and load). */
  trainable?: boolean;
  /** For a first layer: the input shape without the batch axis. */
  inputShape?: (number | null)[];
  /** For a first layer: the input shape with the batch axis. */
  batchInputShape?: (number | null)[];
}

/**
 * Batch normalisation over the last axis, a drop-in for `tf.layers.batchNormalization({ axis: -1 })`:
 * the same weights in the same order (gamma, beta, moving_mean, moving_variance), the same
 * inference and the same running-average updates. In training it runs `batchNormTraining`
 * (./batch-norm-op.ts), one op with a hand-written gradient (native SIMD kernels on wasm, which
 * @supcon/backends registers under the op's kernel name), instead of tfjs-layers'
 * moments-then-batchNorm whose autodiff makes about sixteen full passes over the activation. Serializable: call `registerBackboneLayers()` before loading a saved model with it.
 */
export class BatchNorm extends tfl.layers.Layer {
  static readonly className = 'SupconBatchNorm';
  private readonly momentum: number;
  private readonly epsilon: number;
  private readonly center: boolean;
  private readonly scale: boolean;
  private readonly gammaInitializer: 'ones' | 'zeros';
  private gamma?: tfl.LayerVariable;
  private beta?: tfl.LayerVariable;
  private movingMean?: tfl.LayerVariable;
  private movingVariance?: tfl.LayerVariable;

  constructor(args: BatchNormOptions = {}) {
    super({
      name: args.name,
      trainable: args.trainable,
      inputShape: args.inputShape,
      batchInputShape: args.batchInputShape,
    });
    this.supportsMasking = true;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.gammaInitializer = args.gammaInitializer ?? 'ones';
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new Error(`BatchNorm: momentum must be in [0, 1], got ${this.momentum}`);
    if (!(this.epsilon > 0))
      throw new Error(`BatchNorm: epsilon must be positive, got ${this.epsilon}`);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const c = shape[shape.length - 1];
    if (c == null)
      throw new Error(
        `BatchNorm: the last axis of the input must be known, got shape [${shape.map((d) => d ?? 'null').join(', ')}]`,
      );
    this.inputSpec = [new tfl.InputSpec({ ndim: shape.length, axes: { [shape.length - 1]: c } })];
    if (this.scale)
      this.gamma = this.addWeight(
        'gamma',
        [c],
        'float32',
        tfl.initializers[this.gammaInitializer](),
        undefined,
        true,
      );
    if (this.center)
      this.beta = this.addWeight('beta', [c], 'float32', tfl.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight(
      'moving_mean',
      [c],
      'float32',
      tfl.initializers.zeros(),
      undefined,
      false,
    );
    this.movingVariance = this.addWeight(
      'moving_variance',
      [c],
      'float32',
      tfl.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const gamma = this.gamma?.read() as tf.Tensor1D | undefined;
    const beta = this.beta?.read() as tf.Tensor1D | undefined;
    if (kwargs.training !== true) {
      return tf.batchNorm(
        x,
        this.movingMean!.read(),
        this.movingVariance!.read(),
        beta,
        gamma,
        this.epsilon,
      );
    }
    const { y, mean, variance } = batchNormTraining(x, gamma, beta, this.epsilon);
    for (const [variable, value] of [
      [this.movingMean!, mean],
      [this.movingVariance!, variance],
    ] as const) {
      // moving -= (moving - batch) * (1 - momentum), as tfjs-layers updates them.
      const next = tf.tidy(() =>
        tf.sub(variable.read(), tf.mul(tf.sub(variable.read(), value), 1 - this.momentum)),
      );
      variable.write(next); // the variable keeps its own reference to the data
      next.dispose();
      value.dispose();
    }
    return y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      gammaInitializer: this.gammaInitializer,
    };
  }
}
