/**
 * An encoder and a projection head from @supcon/backbones, joined into one model: ResNet-18 with
 * the CIFAR stem (32×32×3 images to 512 features) and a 128-d MLP head ending on the unit sphere.
 * Runs two images through both, checks the shapes and the unit norms, and disposes everything:
 * tf.memory().numTensors is back where it was.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/backbones.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';
import { countTrainableParams } from '@supcon/backbones';

await initBackend('wasm'); // with supcon's training kernels; 'auto' picks the fastest that starts
const tensorsBefore = tf.memory().numTensors;

// #region model
import { resnet, projectionHead, createContrastiveModel } from '@supcon/backbones';

const encoder = resnet({ depth: 18, stem: 'cifar', inputShape: [32, 32, 3] });
const head = projectionHead({ type: 'mlp', inputDim: 512, dim: 128 });
const { model } = createContrastiveModel(encoder, head); // train `model`, evaluate `encoder`
// #endregion model

const images = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 0);
const features = encoder.predict(images) as tf.Tensor2D; // [2, 512]
const embeddings = model.predict(images) as tf.Tensor2D; // [2, 128], the same encoder's weights
const norms = tf.tidy(() => tf.norm(embeddings, 'euclidean', 1));
const shapes = `features [${features.shape.join(', ')}], embeddings [${embeddings.shape.join(', ')}]`;
if (shapes !== 'features [2, 512], embeddings [2, 128]') throw new Error(`unexpected shapes: ${shapes}`);
const norm = Array.from(norms.dataSync());
if (!norm.every((n) => Math.abs(n - 1) < 1e-5)) throw new Error(`embeddings should have norm 1, got ${norm.join(', ')}`);
const parameters = countTrainableParams(encoder); // torchvision's count without the classifier
if (parameters !== 11_168_832) throw new Error(`ResNet-18 (CIFAR stem) should have 11,168,832 trainable weights, got ${parameters}`);

tf.dispose([images, features, embeddings, norms]);
model.dispose(); // the encoder's and the head's weights go with it: they are the same variables
const leaked = tf.memory().numTensors - tensorsBefore;
if (leaked !== 0) throw new Error(`${leaked} tensors left after dispose`);
console.log(`ResNet-18 + MLP head on ${tf.getBackend()}: ${shapes}, ${parameters.toLocaleString('en')} trainable weights, unit norms, no tensor left`);
