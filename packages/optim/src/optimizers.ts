/**
 * Optimisers as `tf.Optimizer` subclasses, with PyTorch's update rules, so their whole state
 * (`getWeights()` / `setWeights()`) goes into checkpoints and a restored optimiser continues
 * exactly. Weight decay applies to kernels only (variables of rank >= 2) unless
 * `weightDecayOn: 'all'`: biases and batch-norm gamma/beta (rank 1) are not decayed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs-core';

/** A named tensor as `Optimizer.getWeights()` returns it. */
interface NamedTensor {
  name: string;
  tensor: Tensor;
}

export type WeightDecayOn = 'kernels' | 'all';

export interface CommonOptions {
  learningRate: number;
  /** Weight decay coefficient (default 0). */
  weightDecay?: number;
  /** Which variables are decayed (default 'kernels': rank >= 2; 'all': every variable). */
  weightDecayOn?: WeightDecayOn;
}

function check(name: string, value: number, predicate: (v: number) => boolean, expected: string): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && predicate(value))) {
    throw new RangeError(`${name}: expected ${expected}, got ${value}`);
  }
}

/** Whether a variable is decayed under `on` (kernels: rank >= 2). */
export function isDecayed(variable: { rank: number }, on: WeightDecayOn): boolean {
  return on === 'all' || variable.rank >= 2;
}

/**
 * Shared machinery: per-variable state slots (tf.Variables created on first use, named
 * `<variable>/<slot>`), iteration count, and state save/restore in a stable order.
 */
export abstract class SlottedOptimizer extends tf.Optimizer {
  protected learningRate: number;
  protected readonly weightDecay: number;
  protected readonly weightDecayOn: WeightDecayOn;
  private readonly slots = new Map<string, Variable>();
  /** Set by setWeights: the next update matches the restored slots to its variables by position. */
  private matchRestoredSlots = false;

  constructor(options: CommonOptions) {
    super();
    check(`${this.getClassName()}.learningRate`, options.learningRate, (v) => v >= 0, 'a number >= 0');
    check(`${this.getClassName()}.weightDecay`, options.weightDecay ?? 0, (v) => v >= 0, 'a number >= 0');
    this.learningRate = options.learningRate;
    this.weightDecay = options.weightDecay ?? 0;
    this.weightDecayOn = options.weightDecayOn ?? 'kernels';
  }

  /** The learning rate used by the next update (schedules call this every step). */
  setLearningRate(learningRate: number): void {
    check(`${this.getClassName()}.setLearningRate`, learningRate, (v) => v >= 0, 'a number >= 0');
    this.learningRate = learningRate;
  }

  getLearningRate(): number {
    return this.learningRate;
  }

  /** The state slot `slot` of variable `name`, created as zeros like `like`. */
  protected slot(name: string, slot: string, like: Tensor): Variable {
    const key = `${name}/${slot}`;
    let v = this.slots.get(key);
    if (!v) {
      v = tf.tidy(() => tf.variable(tf.zerosLike(like), false));
      this.slots.set(key, v);
    }
    return v;
  }

  /** One variable's update; runs inside tf.tidy. */
  protected abstract update(variable: Variable, gradient: Tensor, name: string): void;

  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const entries: [string, Tensor][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    const registered = tf.engine().registeredVariables;
    if (this.matchRestoredSlots) {
      this.matchRestoredSlots = false;
      this.renameRestoredSlots(entries.filter(([, g]) => g != null).map(([name]) => name), registered);
    }
    for (const [name, gradient] of entries) {
      if (gradient == null) continue;
      const variable = registered[name];
      if (!variable) throw new Error(`${this.getClassName()}.applyGradients: no variable named '${name}'`);
      tf.tidy(() => this.update(variable, gradient, name));
    }
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [await this.saveIterations(), ...[...this.slots].map(([name, tensor]) => ({ name, tensor }))];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
    for (const { name, tensor } of rest) this.slots.set(name, tf.variable(tensor.clone(), false));
    this.matchRestoredSlots = this.slots.size > 0;
  }

  /**
   * Restored slots are keyed by the names the variables had when they were saved. A model built
   * again gets new names when its process has made variables before (tfjs-layers numbers them:
   * a second run in the same process, an app that built another model first): then the slots go
   * to the variables being updated by position (slots are saved in the order of the first
   * update, the order of the model's trainable weights), checked shape by shape. Without this,
   * the restored momentum would be silently replaced by zeros.
   */
  private renameRestoredSlots(names: string[], registered: Record<string, Variable>): void {
    const varOf = (key: string) => key.slice(0, key.lastIndexOf('/'));
    const saved: string[] = [];
    for (const key of this.slots.keys()) if (!saved.includes(varOf(key))) saved.push(varOf(key));
    if (names.every((n) => saved.includes(n))) return;
    const fail = (why: string) => {
      throw new Error(`${this.getClassName()}: the restored optimizer state does not fit the variables being trained: ${why}`);
    };
    if (saved.length !== names.length) fail(`it holds state for ${saved.length} variables, the update has ${names.length}`);
    const renamed = new Map<string, Variable>();
    for (const [key, value] of this.slots) {
      const i = saved.indexOf(varOf(key));
      const name = names[i]!;
      const variable = registered[name];
      if (variable && !tf.util.arraysEqual(variable.shape, value.shape))
        fail(`variable ${i} (${name}) is [${variable.shape.join(', ')}], its saved ${key.slice(key.lastIndexOf('/') + 1)} is [${value.shape.join(', ')}]`);
      renamed.set(`${name}${key.slice(key.lastIndexOf('/'))}`, value);
    }
    this.slots.clear();
    for (const [key, value] of renamed) this.slots.set(key, value);
  }

  override dispose(): void {
    super.dispose();
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, weightDecay: this.weightDecay, weightDecayOn: this.weightDecayOn };
  }

  /** `gradient + weightDecay * variable` for decayed variables (PyTorch's coupled L2). */
  protected withDecay(variable: Variable, gradient: Tensor): Tensor {
    return this.weightDecay > 0 && isDecayed(variable, this.weightDecayOn) ? tf.add(gradient, tf.mul(variable, this.weightDecay)) : gradient;
  }
}

export interface SgdOptions extends CommonOptions {
  /** Default 0 (plain SGD). */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). */
  nesterov?: boolean;
}

/**
 * SGD as torch.optim.SGD (dampening 0): g = grad + wd*w; buf = m*buf + g; step = nesterov ?
 * g + m*buf : buf; w -= lr*step.
 */
export class Sgd extends SlottedOptimizer {
  static readonly className = 'SupconSGD';
  private readonly momentum: number;
  private readonly nesterov: boolean;

  constructor(options: SgdOptions) {
    super(options);
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    check('sgd.momentum', this.momentum, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
    if (this.nesterov && this.momentum === 0) throw new RangeError('sgd.nesterov: Nesterov momentum needs momentum > 0');
  }

  override getClassName(): string {
    return Sgd.className;
  }

  protected update(variable: Variable, gradient: Tensor, name: string): void {
    let g = this.withDecay(variable, gradient);
    if (this.momentum > 0) {
      const buf = this.slot(name, 'momentum', variable);
      // torch starts the buffer at the first gradient: m * 0 + g gives the same.
      const next = tf.add(tf.mul(buf, this.momentum), g);
      buf.assign(next);
      g = this.nesterov ? tf.add(g, tf.mul(next, this.momentum)) : next;
    }
    variable.assign(tf.sub(variable, tf.mul(g, this.learningRate)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}

export interface AdamOptions extends CommonOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** 'l2' (Adam: decay added to the gradient) or 'decoupled' (AdamW: w -= lr*wd*w). */
  decay?: 'l2' | 'decoupled';
}

/** Adam / AdamW as torch.optim.Adam / AdamW (bias-corrected moments, eps outside the sqrt). */
export class Adam extends SlottedOptimizer {
  static readonly className = 'SupconAdam';
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly decay: 'l2' | 'decoupled';

  constructor(options: AdamOptions) {
    super(options);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.decay = options.decay ?? 'l2';
    check('adam.beta1', this.beta1, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
    check('adam.beta2', this.beta2, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
    check('adam.epsilon', this.epsilon, (v) => v > 0, 'a positive number');
  }

  override getClassName(): string {
    return Adam.className;
  }

  protected update(variable: Variable, gradient: Tensor, name: string): void {
    const t = this.iterations + 1;
    const decayed = this.weightDecay > 0 && isDecayed(variable, this.weightDecayOn);
    let g = gradient;
    if (decayed && this.decay === 'l2') g = tf.add(g, tf.mul(variable, this.weightDecay));
    let w: Tensor = variable;
    if (decayed && this.decay === 'decoupled') w = tf.mul(variable, 1 - this.learningRate * this.weightDecay);
    const m = this.slot(name, 'm', variable);
    const v = this.slot(name, 'v', variable);
    const mNext = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const vNext = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    m.assign(mNext);
    v.assign(vNext);
    const mHat = tf.div(mNext, 1 - this.beta1 ** t);
    const vHat = tf.div(vNext, 1 - this.beta2 ** t);
    variable.assign(tf.sub(w, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), this.learningRate)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, decay: this.decay };
  }
}

export interface LarsOptions extends CommonOptions {
  momentum?: number;
  /** Trust coefficient (default 0.001). */
  eta?: number;
}

/**
 * LARS (You et al. 2017), as in the SupCon/SimCLR TF code: for decayed variables
 * g = grad + wd*w and the local rate is lr * eta*||w|| / (||grad|| + wd*||w||) (1 when either norm
 * is 0); buf = m*buf + local_lr * g; w -= buf. Excluded variables (biases, BN) use plain
 * momentum SGD with the global rate.
 */
export class Lars extends SlottedOptimizer {
  static readonly className = 'SupconLARS';
  private readonly momentum: number;
  private readonly eta: number;

  constructor(options: LarsOptions) {
    super(options);
    this.momentum = options.momentum ?? 0.9;
    this.eta = options.eta ?? 0.001;
    check('lars.momentum', this.momentum, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
    check('lars.eta', this.eta, (v) => v > 0, 'a positive number');
  }

  override getClassName(): string {
    return Lars.className;
  }

  protected update(variable: Variable, gradient: Tensor, name: string): void {
    const buf = this.slot(name, 'momentum', variable);
    let step: Tensor;
    if (isDecayed(variable, this.weightDecayOn)) {
      const wNorm = tf.norm(variable);
      const gNorm = tf.norm(gradient);
      const trust = tf.where(
        tf.logicalAnd(tf.greater(wNorm, 0), tf.greater(gNorm, 0)),
        tf.div(tf.mul(wNorm, this.eta), tf.add(gNorm, tf.mul(wNorm, this.weightDecay))),
        tf.onesLike(wNorm),
      );
      const g = tf.add(gradient, tf.mul(variable, this.weightDecay));
      step = tf.mul(g, tf.mul(trust, this.learningRate));
    } else {
      step = tf.mul(gradient, this.learningRate);
    }
    const next = tf.add(tf.mul(buf, this.momentum), step);
    buf.assign(next);
    variable.assign(tf.sub(variable, next));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, eta: this.eta };
  }
}
