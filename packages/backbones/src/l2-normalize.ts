import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BatchNorm } from './batch-norm';

/**
 * Scales each row of its input to unit L2 norm (`x / max(||x||, epsilon)`), so a projection head
 * ends on the unit hypersphere. Serializable: call `registerBackboneLayers()` before loading a
 * saved model that contains it (registration is explicit, never at import).
 */
export class L2Normalize extends tfl.layers.Layer {
  static readonly className = 'SupconL2Normalize';
  private readonly epsilon: number;

  constructor(args: { epsilon?: number; name?: string } = {}) {
    super({ name: args.name });
    this.epsilon = args.epsilon ?? 1e-12;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), this.epsilon * this.epsilon));
      return tf.div(x, norm);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

let registered = false;
/** Registers this package's custom layers for deserialisation (loading saved models). Idempotent. */
export function registerBackboneLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(L2Normalize);
  tf.serialization.registerClass(BatchNorm);
  registered = true;
}
