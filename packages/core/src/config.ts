import type { z } from 'zod';
import type { PartKind } from './parts';
import type { Factory, KeyOf, Plugin } from './plugin';

/**
 * The backends a config may name. `'auto'` picks the fastest that starts among tensorflow-gpu,
 * tensorflow, wasm and cpu; `'webgl'` and `'webgpu'` (browsers; WebGPU also where a Node binding
 * provides `navigator.gpu`) are only used when named.
 */
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'webgl', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The config key of each single-part slot, and the kind of part it holds. */
export const CONFIG_PART_SLOTS = {
  data: 'dataset',
  backbone: 'backbone',
  head: 'head',
  augment: 'augmentation',
  sampler: 'sampler',
  loss: 'loss',
  optimizer: 'optimizer',
  schedule: 'schedule',
} as const satisfies Record<string, PartKind>;
export type ConfigPartSlot = keyof typeof CONFIG_PART_SLOTS;

/** The config keys that hold arrays of parts, and their kind. */
export const CONFIG_LIST_SLOTS = { eval: 'evaluator', hooks: 'hook' } as const satisfies Record<string, PartKind>;
export type ConfigListSlot = keyof typeof CONFIG_LIST_SLOTS;

/** `train` section of a config. */
export interface TrainConfig {
  /** Number of passes over the training split (positive integer). */
  epochs: number;
  /** Images per batch (before multi-view augmentation). */
  batchSize: number;
  /** Augmented views per image (default 2). */
  views: number;
  /**
   * A FIFO memory bank of earlier steps' projections and labels, added to the loss's contrast set
   * (never anchors, no gradient), updated after each step's loss. `size`: rows kept (0: none, the
   * plain run). Only for losses that take one (supcon-out, supcon-in, simclr). `momentum` (in
   * [0, 1), needs `size` > 0; default none: the bank gets the trained model's own projections):
   * the bank's rows come from a MoCo-style key model instead, a copy of encoder + head whose
   * trainable weights follow the trained ones by EMA after every step,
   * `key = momentum * key + (1 - momentum) * query`.
   */
  memory?: { size: number; momentum?: number };
}

/** `checkpoint` section of a config. */
export interface CheckpointConfig {
  /**
   * Also checkpoint every this many global steps, mid-epoch (`checkpoints/epoch-NNNN-step-SSSSSS`,
   * NNNN epochs completed, SSSSSS steps of the next one). A resume from one continues at the next
   * step, bit-exactly. Default: only after each epoch.
   */
  everySteps?: number;
}

/** `{ type, ...options }` of one part as written in a config (options before defaults). */
type FactoryConfig<N extends string, F> =
  F extends Factory<infer S, unknown> ? { type: N } & (z.input<S> extends object ? z.input<S> : unknown) : never;

/** The factory map a plugin P holds for kind K (never when it provides none). */
type FactoryMapOf<P, K extends PartKind> = P extends unknown
  ? KeyOf<K> extends keyof P
    ? NonNullable<P[KeyOf<K>]>
    : never
  : never;

/** Union of the part configs of kind K that the plugins in P provide, discriminated by `type`. */
export type PartConfigOf<P, K extends PartKind> =
  FactoryMapOf<P, K> extends infer M
    ? M extends unknown
      ? { [N in keyof M & string]: FactoryConfig<N, M[N]> }[keyof M & string]
      : never
    : never;

/**
 * A config as written by a user, typed by the plugins it may use (`P`, a union of plugin
 * types). Every part slot is optional because the caller (the CLI) supplies defaults.
 */
export interface SupconConfigInput<P = Plugin> {
  /** Optional run name, used in reports and the run dir. */
  name?: string;
  /** Seed of every random draw (default 0). */
  seed?: number;
  /** tfjs backend (default 'auto'). */
  backend?: BackendName;
  /**
   * wasm backend: threads for its convolutions and matrix products, 1 to 8 (default 'auto': the
   * CPUs Node reports as available, at most 8). Results do not depend on it.
   */
  threads?: number | 'auto';
  /** Plugin objects, or module specifiers resolved relative to the config file. */
  plugins?: readonly (Plugin | string)[];
  data?: PartConfigOf<P, 'dataset'>;
  backbone?: PartConfigOf<P, 'backbone'>;
  head?: PartConfigOf<P, 'head'>;
  augment?: PartConfigOf<P, 'augmentation'>;
  sampler?: PartConfigOf<P, 'sampler'>;
  loss?: PartConfigOf<P, 'loss'>;
  optimizer?: PartConfigOf<P, 'optimizer'>;
  schedule?: PartConfigOf<P, 'schedule'>;
  train?: Partial<TrainConfig>;
  eval?: readonly PartConfigOf<P, 'evaluator'>[];
  hooks?: readonly PartConfigOf<P, 'hook'>[];
  /** Mid-epoch checkpoints (`everySteps`); by default the runner checkpoints after each epoch only. */
  checkpoint?: CheckpointConfig;
  /** Folder of the run's outputs (checkpoints, metrics.jsonl, summary.json); default 'runs/<name or "run">'. */
  out?: string;
}

/** A part after validation: its `type` plus every option with its schema default applied. */
export interface ResolvedPart {
  type: string;
  [option: string]: unknown;
}

/** A validated config: defaults filled in, plugins as objects, parts with their schema defaults. */
export interface ResolvedConfig {
  name?: string;
  seed: number;
  backend: BackendName;
  threads: number | 'auto';
  plugins: Plugin[];
  data?: ResolvedPart;
  backbone?: ResolvedPart;
  head?: ResolvedPart;
  augment?: ResolvedPart;
  sampler?: ResolvedPart;
  loss?: ResolvedPart;
  optimizer?: ResolvedPart;
  schedule?: ResolvedPart;
  train: TrainConfig;
  /** Present when the config has a `checkpoint` section. */
  checkpoint?: CheckpointConfig;
  eval: ResolvedPart[];
  hooks: ResolvedPart[];
  out: string;
}

type PluginsIn<L> = L extends readonly (infer E)[] ? Extract<E, Plugin> : never;

/** The `defineConfig` function type for a set of built-in plugins `B` (a union of plugin types). */
export type DefineConfig<B> = <const L extends readonly (Plugin | string)[] = []>(
  config: SupconConfigInput<B | PluginsIn<L>> & { plugins?: L },
) => SupconConfigInput<B | PluginsIn<L>> & { plugins?: L };

/**
 * Identity at run time; at compile time it infers the allowed `type` names and their options from
 * the plugin objects in `plugins`, so `loss: { type: 'supcon-otu' }` or `temperature: '0.1'` fails
 * `tsc`. For a config that also uses built-in plugins, use the CLI's `defineConfig`, made by
 * `createDefineConfig([...builtins])`.
 */
export const defineConfig: DefineConfig<never> = (config) => config as never;

/**
 * Makes a `defineConfig` whose allowed types are those of `builtins` plus those of the config's
 * own `plugins`. The CLI exports `defineConfig = createDefineConfig([...builtin plugins])`.
 * The builtins are not registered by this call: registration stays explicit.
 */
export function createDefineConfig<const B extends readonly Plugin[]>(builtins: B): DefineConfig<B[number]> {
  void builtins;
  return ((config: unknown) => config) as DefineConfig<B[number]>;
}
