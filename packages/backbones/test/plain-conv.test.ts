/**
 * The backbones' convolutions run `tf.conv2d` (src/plain-conv.ts): the gradient of the image batch
 * is never computed, every other number is that of tfjs-layers' fused convolution, and a saved
 * model is an ordinary `Conv2D` model.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from '@supcon/backends';
import { registerBackboneLayers, smallCnn, smallResNet } from '../src/index';

function seeds(start: number): () => number {
  let s = start >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

/** The same architecture and weights with tfjs-layers' own classes (fused `Conv2D`). */
async function asStockLayers(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  registerBackboneLayers();
  const stock = await tfl.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as tf.io.ModelArtifacts['modelTopology'] } as tf.io.ModelJSON);
  stock.setWeights(model.getWeights());
  return stock;
}

async function gradsOf(model: tfl.LayersModel, x: tf.Tensor4D): Promise<{ grads: Float32Array[]; kernels: string[] }> {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let grads: Float32Array[] = [];
  const info = await tf.profile(() => {
    const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars);
    grads = vars.map((v) => g[v.name]!.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(g)]);
  });
  return { grads, kernels: info.kernels.map((k) => k.name) };
}

describe.each(['cpu', 'wasm'])('plain convolutions on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    if (backend === 'wasm') registerWasmTrainingKernels();
  });

  it.each([
    ['small CNN', () => smallCnn({ inputShape: [10, 10, 3], channels: [8, 12, 16], seed: seeds(3) })],
    ['small ResNet', () => smallResNet({ inputShape: [8, 8, 3], channels: [8, 16], seed: seeds(5) })],
  ])('%s: gradients equal the fused layers bit for bit, without the image gradient', async (_name, build) => {
    const model = build();
    const stock = await asStockLayers(model);
    const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
    const x = tf.randomNormal([4, h!, w!, c!], 0, 1, 'float32', 9) as tf.Tensor4D;
    const ours = await gradsOf(model, x);
    const theirs = await gradsOf(stock, x);
    expect(ours.grads.length).toBe(model.trainableWeights.length);
    for (let i = 0; i < ours.grads.length; i++) expect(Buffer.from(ours.grads[i]!.buffer).equals(Buffer.from(theirs.grads[i]!.buffer))).toBe(true);
    const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D').length;
    const inputGrads = (names: string[]) => names.filter((n) => n === 'Conv2DBackpropInput').length;
    // The fused layers compute an input gradient for every convolution, the image's included.
    expect(inputGrads(theirs.kernels)).toBe(convs);
    expect(inputGrads(ours.kernels)).toBe(convs - 1);
    expect(ours.kernels).not.toContain('FusedConv2D');
    tf.dispose(x);
    model.dispose();
    stock.dispose();
  });
});

describe('a saved model', () => {
  it('names its convolutions Conv2D and loads into tfjs-layers own classes with the same outputs', async () => {
    await tf.setBackend('cpu');
    const model = smallCnn({ inputShape: [6, 6, 1], channels: [4, 8], seed: seeds(1) });
    const json = model.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    const classes = json.config.layers.map((l) => l.class_name);
    expect(classes.filter((c) => c === 'Conv2D')).toHaveLength(2);
    expect(classes.some((c) => /Plain/.test(c))).toBe(false);
    const stock = await asStockLayers(model);
    const x = tf.randomUniform([2, 6, 6, 1], 0, 1, 'float32', 4);
    const a = model.predict(x) as tf.Tensor;
    const b = stock.predict(x) as tf.Tensor;
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([x, a, b]);
    model.dispose();
    stock.dispose();
  });
});
