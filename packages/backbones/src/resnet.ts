/**
 * ResNet encoders (He et al. 2016) as tf.LayersModels from images `[h, w, c]` to pooled
 * features, with PyTorch's layer choices: 3x3/1x1 convolutions without bias before batch norm
 * (momentum 0.1 in torch = 0.9 here, epsilon 1e-5), stride on the 3x3 of bottlenecks (v1.5),
 * 1x1 conv + BN shortcuts where the shape changes, He-normal (fan-out) initialisation.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { BatchNorm } from './batch-norm';
import { plainConv2d } from './plain-conv';

type Sym = tfl.SymbolicTensor;

/** Draws initialiser seeds; pass `() => rng.uint32()` for reproducible weights. */
export type SeedSource = () => number;

export interface ResNetOptions {
  depth: 18 | 34 | 50 | 101;
  /** 'cifar': 3x3 stride-1 first conv, no max-pool; 'imagenet': 7x7 stride-2 conv + 3x3 max-pool. */
  stem?: 'cifar' | 'imagenet';
  /** `[h, w, c]`. */
  inputShape: readonly number[];
  /** Multiplies every width (default 1). */
  widthMultiplier?: number;
  /** Zero-initialise the last BN gamma of each block (default false). */
  zeroInitResidual?: boolean;
  seed?: SeedSource;
  /**
   * 'he-normal' (default, fan-out as torchvision). 'zeros' skips random initialisation: for
   * inspecting shapes and parameter counts, or before loading weights.
   */
  initializer?: 'he-normal' | 'zeros';
  name?: string;
}

const LAYOUTS: Record<ResNetOptions['depth'], { block: 'basic' | 'bottleneck'; counts: number[] }> =
  {
    18: { block: 'basic', counts: [2, 2, 2, 2] },
    34: { block: 'basic', counts: [3, 4, 6, 3] },
    50: { block: 'bottleneck', counts: [3, 4, 6, 3] },
    101: { block: 'bottleneck', counts: [3, 4, 23, 3] },
  };

function defaultSeeds(): SeedSource {
  let s = 0x2545f491;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

/** Layer builders sharing a seed source. */
export class Builder {
  constructor(
    private readonly seed: SeedSource,
    private readonly zeros = false,
  ) {}

  conv(x: Sym, filters: number, kernelSize: number, strides = 1): Sym {
    // Bias-free and linear: `tf.conv2d` with its per-input gradients (see plain-conv.ts).
    return plainConv2d({
        filters,
        kernelSize,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: this.zeros
          ? 'zeros'
          : tfl.initializers.varianceScaling({
              scale: 2,
              mode: 'fanOut',
              distribution: 'normal',
              seed: this.seed(),
            }),
      }).apply(x) as Sym;
  }

  bn(x: Sym, zeroGamma = false): Sym {
    return new BatchNorm({
      momentum: 0.9,
      epsilon: 1e-5,
      gammaInitializer: zeroGamma ? 'zeros' : 'ones',
    }).apply(x) as Sym;
  }

  relu(x: Sym): Sym {
    return tfl.layers.reLU().apply(x) as Sym;
  }

  shortcut(x: Sym, cin: number, cout: number, stride: number): Sym {
    return stride !== 1 || cin !== cout ? this.bn(this.conv(x, cout, 1, stride)) : x;
  }

  basic(x: Sym, cin: number, cout: number, stride: number, zero = false): Sym {
    let y = this.relu(this.bn(this.conv(x, cout, 3, stride)));
    y = this.bn(this.conv(y, cout, 3), zero);
    return this.relu(tfl.layers.add().apply([y, this.shortcut(x, cin, cout, stride)]) as Sym);
  }

  bottleneck(x: Sym, cin: number, width: number, stride: number, zero = false): Sym {
    const cout = width * 4;
    let y = this.relu(this.bn(this.conv(x, width, 1)));
    y = this.relu(this.bn(this.conv(y, width, 3, stride)));
    y = this.bn(this.conv(y, cout, 1), zero);
    return this.relu(tfl.layers.add().apply([y, this.shortcut(x, cin, cout, stride)]) as Sym);
  }
}

function checkInputShape(fn: string, inputShape: readonly number[]): void {
  if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(
      `${fn}: inputShape must be [height, width, channels] of positive integers, got [${inputShape.join(', ')}]`,
    );
  }
}

/**
 * A ResNet encoder: images `[h, w, c]` (float, any scaling) to pooled features
 * `[512 * widthMultiplier]` (depth 18/34) or `[2048 * widthMultiplier]` (50/101).
 */
export function resnet(options: ResNetOptions): tfl.LayersModel {
  const layout = LAYOUTS[options.depth];
  if (!layout) throw new Error(`resnet: depth must be 18, 34, 50 or 101, got ${options.depth}`);
  checkInputShape('resnet', options.inputShape);
  const stem = options.stem ?? 'imagenet';
  if (stem !== 'cifar' && stem !== 'imagenet')
    throw new Error(`resnet: stem must be 'cifar' or 'imagenet', got '${stem}'`);
  const mult = options.widthMultiplier ?? 1;
  if (!(mult > 0)) throw new Error(`resnet: widthMultiplier must be positive, got ${mult}`);
  const b = new Builder(options.seed ?? defaultSeeds(), options.initializer === 'zeros');
  const widths = [64, 128, 256, 512].map((w) => Math.max(1, Math.round(w * mult)));
  const input = tfl.input({ shape: [...options.inputShape] });
  let y: Sym;
  if (stem === 'cifar') {
    y = b.relu(b.bn(b.conv(input, widths[0], 3, 1)));
  } else {
    y = b.relu(b.bn(b.conv(input, widths[0], 7, 2)));
    y = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(y) as Sym;
  }
  let cin = widths[0];
  layout.counts.forEach((count, stage) => {
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      if (layout.block === 'basic') {
        y = b.basic(y, cin, widths[stage], stride, options.zeroInitResidual);
        cin = widths[stage];
      } else {
        y = b.bottleneck(y, cin, widths[stage], stride, options.zeroInitResidual);
        cin = widths[stage] * 4;
      }
    }
  });
  y = tfl.layers.globalAveragePooling2d({}).apply(y) as Sym;
  return tfl.model({
    inputs: input,
    outputs: y,
    name: options.name ?? `resnet${options.depth}_${stem}`,
  });
}

export interface SmallCnnOptions {
  inputShape: readonly number[];
  /** Widths of the stages (default [32, 64, 128]); every stage after the first halves the resolution. */
  channels?: number[];
  /** Residual basic blocks instead of single conv-BN-ReLU layers (default false). */
  residual?: boolean;
  seed?: SeedSource;
  name?: string;
}

/**
 * A small convolutional encoder for 28x28 / 32x32 images and quick runs: a 3x3 stem, one
 * conv-BN-ReLU (or residual block) per stage, global average pooling; features `[last width]`.
 * With `residual: true` and the default widths it is the "small ResNet" of the benchmarks.
 */
export function smallCnn(options: SmallCnnOptions): tfl.LayersModel {
  checkInputShape('smallCnn', options.inputShape);
  const channels = options.channels ?? [32, 64, 128];
  if (channels.length === 0 || channels.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new Error(`smallCnn: channels must be positive integers, got [${channels.join(', ')}]`);
  }
  const b = new Builder(options.seed ?? defaultSeeds());
  const input = tfl.input({ shape: [...options.inputShape] });
  let y = b.relu(b.bn(b.conv(input, channels[0], 3, 1)));
  let cin = channels[0];
  channels.forEach((c, i) => {
    const stride = i === 0 ? 1 : 2;
    if (options.residual) y = b.basic(y, cin, c, stride);
    else if (i > 0) y = b.relu(b.bn(b.conv(y, c, 3, stride)));
    cin = c;
  });
  y = tfl.layers.globalAveragePooling2d({}).apply(y) as Sym;
  return tfl.model({
    inputs: input,
    outputs: y,
    name: options.name ?? (options.residual ? 'small_resnet' : 'small_cnn'),
  });
}

/** The benchmarks' small ResNet: 3 residual blocks of 32/64/128 channels. */
export function smallResNet(options: Omit<SmallCnnOptions, 'residual'>): tfl.LayersModel {
  return smallCnn({ ...options, residual: true, name: options.name ?? 'small_resnet' });
}

export interface MlpOptions {
  inputShape: readonly number[];
  /** Hidden widths (default [512, 256]); features are the last one. */
  hidden?: number[];
  /** Batch norm after each dense layer (default true). */
  batchNorm?: boolean;
  seed?: SeedSource;
  name?: string;
}

/** A multilayer perceptron encoder on flattened inputs: dense-(BN)-ReLU per hidden width. */
export function mlp(options: MlpOptions): tfl.LayersModel {
  const hidden = options.hidden ?? [512, 256];
  if (hidden.length === 0 || hidden.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error(`mlp: hidden must be positive integers, got [${hidden.join(', ')}]`);
  const seed = options.seed ?? defaultSeeds();
  const input = tfl.input({ shape: [...options.inputShape] });
  let y = (options.inputShape.length > 1 ? tfl.layers.flatten().apply(input) : input) as Sym;
  for (const units of hidden) {
    y = tfl.layers
      .dense({
        units,
        useBias: !(options.batchNorm ?? true),
        kernelInitializer: tfl.initializers.heNormal({ seed: seed() }),
      })
      .apply(y) as Sym;
    if (options.batchNorm ?? true)
      y = new BatchNorm({ momentum: 0.9, epsilon: 1e-5 }).apply(y) as Sym;
    y = tfl.layers.reLU().apply(y) as Sym;
  }
  return tfl.model({ inputs: input, outputs: y, name: options.name ?? 'mlp' });
}
