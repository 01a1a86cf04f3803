/**
 * Every loss of @supcon/losses on tensors small enough to check by hand: SupCon (L_out and L_in,
 * with labels and with a mask), SimCLR, triplet, N-pair and cross-entropy. Each value is compared
 * with the one worked out in the comments, to 1e-5.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/losses.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';

await initBackend('wasm');
const tensorsBefore = tf.memory().numTensors;
const checked: string[] = [];
function expectClose(name: string, loss: tf.Scalar, want: number): void {
  const got = loss.dataSync()[0]!;
  loss.dispose();
  if (!(Math.abs(got - want) < 1e-5)) throw new Error(`${name}: got ${got}, worked out by hand ${want}`);
  checked.push(`${name} ${got.toFixed(4)}`);
}

// #region supcon
import { supConLoss, simclrLoss } from '@supcon/losses';

// Two images (classes 0 and 1), two views each, already on the unit sphere: [batch, views, dim].
// Both views of image 0 are (1, 0), both views of image 1 are (0, 1), so an anchor's similarity
// is 1 with the other view of its image and 0 with the two views of the other image.
const features = tf.tensor3d([[[1, 0], [1, 0]], [[0, 1], [0, 1]]]);
const labels = tf.tensor1d([0, 1], 'int32');
const t = 0.5;

// With labels: one positive per anchor (its other view), the same for every anchor:
// L = -log(e^(1/t) / (e^(1/t) + 2 e^0)) = log(1 + 2 e^(-1/t)) = log(1 + 2 e^-2) ≈ 0.2396.
// L_out and L_in agree with one positive; SimCLR (no labels: the other view) is the same here.
const onePositive = Math.log(1 + 2 * Math.exp(-1 / t));
expectClose('supcon-out', supConLoss(features, labels, { temperature: t }), onePositive);
expectClose('supcon-in', supConLoss(features, labels, { temperature: t, variant: 'in' }), onePositive);
expectClose('simclr', simclrLoss(features, { temperature: t }), onePositive);

// A mask [batch, batch] instead of labels: here both images are positives of each other, so every
// other row is a positive. Denominator Σ_a e^(s_a/t) = e^2 + 2; the positives' s/t are 2, 0, 0:
// L_out = log(e^2 + 2) - (2 + 0 + 0) / 3 ≈ 1.5729, and L_in = -log(mean_p p_p) = log 3 ≈ 1.0986.
const mask = tf.ones([2, 2]) as tf.Tensor2D;
expectClose('supcon-out, mask', supConLoss(features, null, { temperature: t, mask }), Math.log(Math.exp(2) + 2) - 2 / 3);
expectClose('supcon-in, mask', supConLoss(features, null, { temperature: t, mask, variant: 'in' }), Math.log(3));
// #endregion supcon

// #region metric
import { tripletLoss, nPairLoss, crossEntropyLoss } from '@supcon/losses';

// Triplet (margin 0.2, euclidean): points 0, 1 (class 0) and 1.1 (class 1) on a line. The valid
// triplets (anchor, positive, negative) are (0, 1, 1.1): max(1 - 1.1 + 0.2, 0) = 0.1, and
// (1, 0, 1.1): max(1 - 0.1 + 0.2, 0) = 1.1; their mean is 0.6.
const points = tf.tensor2d([[0, 0], [1, 0], [1.1, 0]]);
const pointLabels = tf.tensor1d([0, 0, 1], 'int32');
expectClose('triplet', tripletLoss(points, pointLabels, { margin: 0.2 }), 0.6);

// N-pair: anchor i's logits are a_i · p_j, its target is j = i. Anchors = positives = the unit
// vectors, so each row's logits are (1, 0) with target at the 1: log(1 + e^-1) ≈ 0.3133.
const unit = tf.eye(2) as tf.Tensor2D;
expectClose('n-pair', nPairLoss(unit, unit), Math.log(1 + Math.exp(-1)));

// Cross-entropy: logits (0, 0) give each of two classes probability 1/2: log 2 ≈ 0.6931.
const logits = tf.zeros([3, 2]) as tf.Tensor2D;
const targets = tf.tensor1d([0, 1, 1], 'int32');
expectClose('cross-entropy', crossEntropyLoss(logits, targets), Math.log(2));
// #endregion metric

tf.dispose([features, labels, mask, points, pointLabels, unit, logits, targets]);
const leaked = tf.memory().numTensors - tensorsBefore;
if (leaked !== 0) throw new Error(`${leaked} tensors left: every loss keeps numTensors unchanged apart from its result`);
console.log(`losses match the hand-worked values to 1e-5: ${checked.join(', ')}`);
