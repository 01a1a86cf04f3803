import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRegistry, createRng } from '@supcon/core';
import type { OptimizerPart } from '@supcon/core';
import reference from './reference.json';
import { Adam, Lars, Sgd, constantSchedule, cosineSchedule, optimPlugin, stepSchedule } from '../src/index';
import type { SlottedOptimizer } from '../src/index';

beforeAll(() => tf.setBackend('cpu'));

type Case = { w: number[][]; b: number[] }[];

function problem() {
  const w = tf.variable(tf.tensor2d(reference.w0), true, `w_${Math.random()}`);
  const b = tf.variable(tf.tensor1d(reference.b0), true, `b_${Math.random()}`);
  const x = tf.tensor2d(reference.x);
  const y = tf.tensor2d(reference.y);
  const loss = () => tf.sum(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))) as tf.Scalar;
  const dispose = () => tf.dispose([w, b, x, y]);
  return { w, b, loss, dispose };
}

function expectTrajectory(optimizer: SlottedOptimizer, expected: Case, tolerance = 1e-5) {
  const p = problem();
  for (const step of expected) {
    tf.tidy(() => {
      optimizer.minimize(p.loss, false, [p.w, p.b]);
    });
    const w = p.w.arraySync() as number[][];
    const b = p.b.arraySync() as number[];
    w.flat().forEach((v, i) => expect(Math.abs(v - step.w.flat()[i])).toBeLessThan(tolerance));
    b.forEach((v, i) => expect(Math.abs(v - step.b[i])).toBeLessThan(tolerance));
  }
  p.dispose();
  optimizer.dispose();
}

describe('optimisers match torch.optim (reference.json from test/make_reference.py)', () => {
  it('SGD with Nesterov momentum and weight decay on the kernel only', () => {
    expectTrajectory(new Sgd({ learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 }), reference.cases.sgd_nesterov);
  });
  it('SGD with momentum', () => {
    expectTrajectory(new Sgd({ learningRate: 0.05, momentum: 0.9, weightDecay: 0.1 }), reference.cases.sgd_momentum);
  });
  it('Adam with L2 weight decay', () => {
    expectTrajectory(new Adam({ learningRate: 0.05, weightDecay: 0.1, decay: 'l2' }), reference.cases.adam);
  });
  it('AdamW with decoupled weight decay', () => {
    expectTrajectory(new Adam({ learningRate: 0.05, weightDecay: 0.1, decay: 'decoupled' }), reference.cases.adamw);
  });
});

describe('LARS', () => {
  it('scales the kernel step by the trust ratio and leaves the bias on plain momentum SGD (hand-computed first step)', () => {
    const w = tf.variable(tf.tensor2d([[3, 0], [0, 4]]), true, `lw_${Math.random()}`); // ||w|| = 5
    const b = tf.variable(tf.tensor1d([1, 1]), true, `lb_${Math.random()}`);
    const lars = new Lars({ learningRate: 0.1, momentum: 0.9, eta: 0.01, weightDecay: 0.5 });
    // gradients: dL/dw = [[0.6,0],[0,0.8]] (||g|| = 1), dL/db = [1, -1]
    lars.applyGradients({ [w.name]: tf.tensor2d([[0.6, 0], [0, 0.8]]), [b.name]: tf.tensor1d([1, -1]) });
    // trust = 0.01*5/(1 + 0.5*5) = 0.05/3.5; step = lr*trust*(g + 0.5 w)
    const trust = 0.05 / 3.5;
    const expectedW = [[3 - 0.1 * trust * (0.6 + 1.5), 0], [0, 4 - 0.1 * trust * (0.8 + 2)]];
    (w.arraySync() as number[][]).flat().forEach((v, i) => expect(v).toBeCloseTo(expectedW.flat()[i], 6));
    expect(b.arraySync()).toEqual([expect.closeTo(0.9, 6), expect.closeTo(1.1, 6)]);
    tf.dispose([w, b]);
    lars.dispose();
  });
});

describe('state', () => {
  it('getWeights/setWeights restore an optimiser that continues exactly', async () => {
    const full = problem();
    const a = new Adam({ learningRate: 0.05, weightDecay: 0.1, decay: 'decoupled' });
    for (let i = 0; i < 4; i++) tf.tidy(() => void a.minimize(full.loss, false, [full.w, full.b]));

    const half = problem();
    const first = new Adam({ learningRate: 0.05, weightDecay: 0.1, decay: 'decoupled' });
    for (let i = 0; i < 2; i++) tf.tidy(() => void first.minimize(half.loss, false, [half.w, half.b]));
    // Slots are keyed by variable name: the restored optimiser must serve the same variables.
    const saved = await first.getWeights();
    const copies = saved.map((t) => ({ name: t.name, tensor: t.tensor.clone() }));
    first.dispose();
    const second = new Adam({ learningRate: 0.05, weightDecay: 0.1, decay: 'decoupled' });
    await second.setWeights(copies);
    tf.dispose(copies.map((c) => c.tensor));
    expect(second.iterations).toBe(2);
    for (let i = 0; i < 2; i++) tf.tidy(() => void second.minimize(half.loss, false, [half.w, half.b]));
    expect(half.w.arraySync()).toEqual(full.w.arraySync());
    expect(half.b.arraySync()).toEqual(full.b.arraySync());
    full.dispose();
    half.dispose();
    a.dispose();
    second.dispose();
  });

  it('restored state goes to variables of another name by position (a model built again), or says why it cannot', async () => {
    for (const make of [() => new Sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.01 }), () => new Adam({ learningRate: 0.05 })]) {
      const full = problem();
      const a = make();
      for (let i = 0; i < 4; i++) tf.tidy(() => void a.minimize(full.loss, false, [full.w, full.b]));
      const half = problem();
      const first = make();
      for (let i = 0; i < 2; i++) tf.tidy(() => void first.minimize(half.loss, false, [half.w, half.b]));
      const saved = await first.getWeights();
      const copies = saved.map((t) => ({ name: t.name, tensor: t.tensor.clone() }));
      // The same values in new variables with new names, as a model rebuilt in the same process.
      const again = problem();
      again.w.assign(half.w);
      again.b.assign(half.b);
      const second = make();
      await second.setWeights(copies);
      for (let i = 0; i < 2; i++) tf.tidy(() => void second.minimize(again.loss, false, [again.w, again.b]));
      // Bitwise the unbroken run: the momentum went to the renamed variables, not zeros.
      expect(again.w.arraySync()).toEqual(full.w.arraySync());
      expect(again.b.arraySync()).toEqual(full.b.arraySync());
      // State for two variables, an update of one: refused, not silently reset.
      const third = make();
      await third.setWeights(saved.map((t) => ({ name: t.name, tensor: t.tensor.clone() })));
      const lone = tf.variable(tf.zeros([3]), true, `lone_${Math.random()}`);
      expect(() => tf.tidy(() => void third.minimize(() => tf.sum(tf.square(lone)) as tf.Scalar, false, [lone]))).toThrow(
        /the restored optimizer state does not fit the variables being trained: it holds state for 2 variables, the update has 1/,
      );
      tf.dispose([lone, ...copies.map((c) => c.tensor)]);
      for (const p of [full, half, again]) p.dispose();
      for (const o of [a, first, second, third]) o.dispose();
    }
  });

  it('updates leak no tensors beyond the state slots created on the first step', () => {
    const p = problem();
    const sgd = new Sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.01 });
    tf.tidy(() => void sgd.minimize(p.loss, false, [p.w, p.b]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(() => void sgd.minimize(p.loss, false, [p.w, p.b]));
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
    sgd.dispose();
  });

  it('checks options, naming them', () => {
    expect(() => new Sgd({ learningRate: -1 })).toThrow('SupconSGD.learningRate: expected a number >= 0, got -1');
    expect(() => new Sgd({ learningRate: 0.1, nesterov: true })).toThrow(/needs momentum > 0/);
  });
});

describe('schedules', () => {
  // 10 epochs of 10 steps: globalStep 0..99.
  const at = (s: ReturnType<typeof cosineSchedule>, globalStep: number) => s.factor({ globalStep, stepsPerEpoch: 10, totalSteps: 100 });
  const all = (s: ReturnType<typeof cosineSchedule>) => Array.from({ length: 100 }, (_, g) => at(s, g));

  it('cosine with warm-up: linear to 1 over the warm-up, half way down at the midpoint of the rest, finalFraction on the last step', () => {
    const s = cosineSchedule({ warmupEpochs: 2 });
    expect(at(s, 0)).toBeCloseTo(1 / 20, 12);
    expect(at(s, 9)).toBeCloseTo(10 / 20, 12);
    expect(at(s, 19)).toBeCloseTo(1, 12);
    expect(at(s, 20)).toBeCloseTo(1, 12);
    // p = (g - 20) / 79: the midpoint is g = 59.5; cos(pi * 40/79) by hand.
    expect(at(s, 60)).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * 40) / 79)), 12);
    expect(at(s, 99)).toBe(0);
    expect(at(cosineSchedule({ finalFraction: 0.1 }), 99)).toBeCloseTo(0.1, 12);
    expect(at(cosineSchedule({ finalFraction: 0.1 }), 0)).toBeCloseTo(1, 12);
  });

  it('cosine falls monotonically across epochs (no restart at epoch boundaries) and warms up once', () => {
    const f = all(cosineSchedule({ warmupEpochs: 1, finalFraction: 0.01 }));
    // warm-up: the first 10 steps only rise
    for (let g = 1; g < 10; g++) expect(f[g]).toBeGreaterThan(f[g - 1]);
    // after warm-up: never rises again, in particular not at epoch starts (g = 20, 30, ...)
    for (let g = 10; g < 100; g++) expect(f[g]).toBeLessThanOrEqual(f[g - 1] + 1e-15);
    expect(f.filter((v, g) => g > 0 && v > f[g - 1] + 1e-15)).toHaveLength(9);
    expect(f[99]).toBeCloseTo(0.01, 12);
  });

  it('step: gamma at each milestone epoch, on the first step of that epoch', () => {
    const s = stepSchedule({ milestones: [6, 8], gamma: 0.2 });
    expect(at(s, 59)).toBe(1);
    expect(at(s, 60)).toBeCloseTo(0.2, 12);
    expect(at(s, 79)).toBeCloseTo(0.2, 12);
    expect(at(s, 80)).toBeCloseTo(0.04, 12);
    expect(at(constantSchedule(0.5), 42)).toBe(0.5);
  });

  it('step with warm-up: the warm-up happens once, in the first epochs', () => {
    const f = all(stepSchedule({ milestones: [5], gamma: 0.1, warmupEpochs: 1 }));
    expect(f.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, g) => (g + 1) / 10));
    expect(f.slice(10, 50).every((v) => v === 1)).toBe(true);
    expect(f.slice(50).every((v) => Math.abs(v - 0.1) < 1e-12)).toBe(true);
  });
});

describe('plugin', () => {
  it('builds optimisers and schedules from configs with defaults and path-named errors', async () => {
    const registry = createRegistry([optimPlugin]);
    const part = (await registry.build('optimizer', { type: 'sgd', learningRate: 0.3, nesterov: true }, { rng: createRng(0) })) as OptimizerPart;
    expect(part.baseLearningRate).toBe(0.3);
    expect(part.optimizer.getConfig()).toMatchObject({ momentum: 0.9, nesterov: true, weightDecayOn: 'kernels' });
    part.setLearningRate(0.01);
    expect((part.optimizer as Sgd).getLearningRate()).toBe(0.01);
    expect(registry.list('optimizer')).toEqual(['adam', 'adamw', 'lars', 'sgd']);
    expect(registry.list('schedule')).toEqual(['constant', 'cosine', 'step']);
    await expect(registry.build('optimizer', { type: 'sgd', momentum: 1.5 }, { rng: createRng(0) })).rejects.toThrow(/optimizer\.momentum/);
    await expect(registry.build('schedule', { type: 'step' }, { rng: createRng(0) })).rejects.toThrow(/schedule\.milestones/);
    part.optimizer.dispose();
  });
});
