/**
 * A 2-D convolution layer without bias or activation that runs `tf.conv2d` instead of
 * tfjs-layers' `tf.fused.conv2d`.
 *
 * Why: `tf.fused.conv2d` is a `customGrad` op, and a custom gradient computes the gradient of every
 * input whether or not the tape needs it. So the first convolution of a network, whose input is
 * the image batch (no gradient wanted), still pays a full `Conv2DBackpropInput` in every step: 7%
 * of the small CNN's step on wasm. `tf.conv2d` has a registered gradient with one function per
 * input, and the tape calls only the ones on a path to a variable. The forward op, the kernels the
 * gradients run and so the numbers are those of the fused op with no bias and a linear activation.
 *
 * The layer is tfjs-layers' own `Conv2D` class underneath (`getClassName()` is `'Conv2D'`): a saved
 * model loads as an ordinary `Conv2D` anywhere, and nothing is registered at import.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ConvLayerArgs } from '@tensorflow/tfjs-layers/dist/layers/convolutional';

/** The fields of tfjs-layers' `Conv2D` that `call` reads. */
interface ConvFields {
  kernel: { read(): tf.Tensor } | null;
  bias: unknown;
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number | number[];
  activation: { getClassName(): string };
}

type Conv2DLayer = tfl.layers.Layer & ConvFields;
type Conv2DClass = new (args: ConvLayerArgs) => Conv2DLayer;

let plainClass: Conv2DClass | undefined;

/** tfjs-layers does not export its `Conv2D` class; an instance's constructor is that class. */
function plainConv2dClass(): Conv2DClass {
  if (plainClass) return plainClass;
  const Base = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as Conv2DClass;
  class PlainConv2D extends Base {
    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
      const linear = this.activation.getClassName() === 'linear';
      if (this.bias != null || !linear || this.dataFormat !== 'channelsLast' || this.padding === 'causal' || !this.kernel) {
        return super.call(inputs, kwargs);
      }
      const kernel = this.kernel;
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        const dilations = typeof this.dilationRate === 'number' ? this.dilationRate : (this.dilationRate as [number, number]);
        return tf.conv2d(x, kernel.read() as tf.Tensor4D, this.strides as [number, number], this.padding as 'valid' | 'same', 'NHWC', dilations);
      });
    }
  }
  plainClass = PlainConv2D;
  return plainClass;
}

/**
 * `tfl.layers.conv2d(args)` whose bias-free, linear, channels-last form runs `tf.conv2d` (see the
 * module comment); any other arguments behave exactly as tfjs-layers' layer.
 */
export function plainConv2d(args: ConvLayerArgs): tfl.layers.Layer {
  const Layer = plainConv2dClass();
  return new Layer(args);
}
