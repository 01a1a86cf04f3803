/**
 * @supcon/optim's SGD (PyTorch's update rule: momentum, L2 weight decay on kernels) with the
 * cosine schedule (one warm-up epoch, then one cosine down to 0 on the last step), fitting a
 * least-squares line for 20 epochs of 10 steps. Checks that the loss falls, that the learning rate
 * follows the schedule, and that the fit finds the true weights.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/optim.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@supcon/backends';

await initBackend('wasm');
// The toy problem: y = x · (2, -3) on 64 random points; fit w [2, 1] (a kernel, so it is decayed).
const x = tf.randomNormal([64, 2], 0, 1, 'float32', 1);
const y = tf.matMul(x, tf.tensor2d([[2], [-3]]));
const w = tf.variable(tf.zeros([2, 1]));
const mse = () => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as tf.Scalar;

// #region sgd
import { Sgd, cosineSchedule } from '@supcon/optim';

const baseRate = 0.1;
const opt = new Sgd({ learningRate: baseRate, momentum: 0.9, weightDecay: 1e-4 });
const schedule = cosineSchedule({ warmupEpochs: 1 });
const [epochs, stepsPerEpoch] = [20, 10];
const totalSteps = epochs * stepsPerEpoch;
const rates: number[] = [];
const losses: number[] = [];
for (let globalStep = 0; globalStep < totalSteps; globalStep++) {
  opt.setLearningRate(baseRate * schedule.factor({ globalStep, stepsPerEpoch, totalSteps }));
  rates.push(opt.getLearningRate());
  const loss = opt.minimize(mse, true, [w])!;
  losses.push(loss.dataSync()[0]!);
  loss.dispose();
}
// #endregion sgd

// The schedule: the rate climbs linearly over the first epoch (base/10, 2·base/10, ..., base),
// then falls along one cosine, base·(1 + cos(π p))/2 with p = (step - 10) / 189, to 0 on step 199.
const wanted = (step: number) => (step < stepsPerEpoch ? (baseRate * (step + 1)) / stepsPerEpoch : (baseRate * (1 + Math.cos((Math.PI * (step - stepsPerEpoch)) / (totalSteps - stepsPerEpoch - 1)))) / 2);
const off = rates.findIndex((rate, step) => Math.abs(rate - wanted(step)) > 1e-12);
if (off >= 0) throw new Error(`learning rate at step ${off}: ${rates[off]}, the schedule says ${wanted(off)}`);
if (!(rates[totalSteps - 1] === 0)) throw new Error(`the cosine should end at exactly 0, got ${rates[totalSteps - 1]}`);
const [first, last] = [losses[0]!, losses[totalSteps - 1]!];
if (!(last < first * 1e-4)) throw new Error(`the loss should fall ten thousandfold, went from ${first} to ${last}`);
const fit = Array.from(w.dataSync());
if (!(Math.abs(fit[0]! - 2) < 0.01 && Math.abs(fit[1]! + 3) < 0.01)) throw new Error(`w should be about (2, -3), got (${fit.join(', ')})`);
tf.dispose([x, y, w]);
opt.dispose();
console.log(`SGD + cosine (warm-up 1 of ${epochs} epochs): loss ${first.toFixed(3)} -> ${last.toExponential(2)}, lr peak ${Math.max(...rates)} at step ${rates.indexOf(Math.max(...rates))}, ${rates[totalSteps - 1]} at the end; w = (${fit.map((v) => v.toFixed(3)).join(', ')})`);
