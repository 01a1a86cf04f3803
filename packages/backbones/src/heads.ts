import * as tfl from '@tensorflow/tfjs-layers';
import { L2Normalize } from './l2-normalize';
import type { SeedSource } from './resnet';

export interface ProjectionHeadOptions {
  /** 'mlp': Dense(hidden)-ReLU-Dense(dim) as in SupContrast; 'linear': Dense(dim). */
  type: 'linear' | 'mlp';
  /** Width of the encoder's features. */
  inputDim: number;
  /** Hidden width of the mlp head (default inputDim). */
  hidden?: number;
  /** Output dimension (default 128). */
  dim?: number;
  /** End on the unit sphere (default true). */
  normalize?: boolean;
  seed?: SeedSource;
  name?: string;
}

/** A projection head from features `[inputDim]` to embeddings `[dim]`, L2-normalised by default. */
export function projectionHead(options: ProjectionHeadOptions): tfl.LayersModel {
  const { type, inputDim, dim = 128, normalize = true } = options;
  if (type !== 'linear' && type !== 'mlp')
    throw new Error(`projectionHead: type must be 'linear' or 'mlp', got '${String(type)}'`);
  for (const [k, v] of [
    ['inputDim', inputDim],
    ['dim', dim],
    ['hidden', options.hidden ?? inputDim],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`projectionHead: ${k} must be a positive integer, got ${v}`);
  }
  let s = 0x9e3779b9;
  const seed = options.seed ?? (() => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0));
  const input = tfl.input({ shape: [inputDim] });
  let y = input as tfl.SymbolicTensor;
  if (type === 'mlp') {
    y = tfl.layers
      .dense({
        units: options.hidden ?? inputDim,
        activation: 'relu',
        kernelInitializer: tfl.initializers.heUniform({ seed: seed() }),
      })
      .apply(y) as tfl.SymbolicTensor;
  }
  y = tfl.layers
    .dense({ units: dim, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) })
    .apply(y) as tfl.SymbolicTensor;
  if (normalize) y = new L2Normalize().apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: y, name: options.name ?? `${type}_head` });
}

export interface ContrastiveModel {
  encoder: tfl.LayersModel;
  head: tfl.LayersModel;
  /** images -> head(encoder(images)); shares its layers (and so its weights) with `encoder` and `head`. */
  model: tfl.LayersModel;
}

/**
 * Holds an encoder and a projection head together for training; `encoder` alone serves linear
 * evaluation. Weights are shared: training `model` changes `encoder`'s outputs.
 */
export function createContrastiveModel(
  encoder: tfl.LayersModel,
  head: tfl.LayersModel,
): ContrastiveModel {
  const featureShape = encoder.outputs[0].shape;
  const headShape = head.inputs[0].shape;
  if (featureShape[featureShape.length - 1] !== headShape[headShape.length - 1]) {
    throw new Error(
      `createContrastiveModel: the encoder outputs [${featureShape.join(', ')}] but the head takes [${headShape.join(', ')}]`,
    );
  }
  const input = tfl.input({ shape: encoder.inputs[0].shape.slice(1) as number[] });
  const output = head.apply(encoder.apply(input)) as tfl.SymbolicTensor;
  return {
    encoder,
    head,
    model: tfl.model({ inputs: input, outputs: output, name: 'contrastive' }),
  };
}

/** Total size of a model's trainable weights (what PyTorch's `sum(p.numel() for p in parameters())` counts). */
export function countTrainableParams(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce(
    (sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1),
    0,
  );
}
