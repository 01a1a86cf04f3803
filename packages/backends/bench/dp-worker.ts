/**
 * Data-parallel worker for train-step.bench.ts (`--workers N`): one wasm instance per worker
 * thread, a model replica, gradients of its share of the batch sent to the main thread, which
 * averages them and sends them back to every replica for the same SGD update.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/kernels/register';
import { MODELS, buildModel, contrastiveLoss } from './models';

interface Init {
  model: 'small' | 'resnet18';
  weights: Float32Array[];
  lr: number;
}
type Msg =
  | { kind: 'step'; x: Float32Array; shape: number[]; labels: Int32Array }
  | { kind: 'apply'; grads: Float32Array[] }
  | { kind: 'exit' };

async function main() {
  const init = workerData as Init;
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  const model = buildModel(MODELS[init.model]);
  model.setWeights(init.weights.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tf.train.sgd(init.lr);
  parentPort!.postMessage({ kind: 'ready' });
  parentPort!.on('message', (msg: Msg) => {
    if (msg.kind === 'exit') {
      process.exit(0);
    } else if (msg.kind === 'step') {
      const x = tf.tensor(msg.x, msg.shape);
      const y = tf.tensor1d(msg.labels, 'int32');
      const { value, grads } = tf.variableGrads(
        () => contrastiveLoss(model.apply(x, { training: true }) as tf.Tensor2D, y),
        vars,
      );
      const loss = value.dataSync()[0]!;
      const out = vars.map((v) => new Float32Array(grads[v.name]!.dataSync() as Float32Array)); // copies, safe to transfer
      tf.dispose([x, y, value, ...Object.values(grads)]);
      const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
      parentPort!.postMessage(
        { kind: 'grads', loss, grads: out, heap },
        out.map((g) => g.buffer as ArrayBuffer),
      );
    } else {
      const map = Object.fromEntries(
        vars.map((v, i) => [v.name, tf.tensor(msg.grads[i]!, v.shape)]),
      );
      opt.applyGradients(map);
      tf.dispose(Object.values(map));
      parentPort!.postMessage({ kind: 'applied' });
    }
  });
}

void main();
