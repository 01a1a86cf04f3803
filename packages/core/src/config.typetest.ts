/**
 * Compile-time tests of `defineConfig` (checked by `tsc -p tsconfig.json --noEmit`, never run).
 * Each `@ts-expect-error` line must fail to compile; the positive cases must compile.
 */
import { z } from 'zod';
import { createDefineConfig, defineConfig } from './config';
import { defineFactory, definePlugin } from './plugin';
import type { EvaluatorPart, LossPart, SamplerPart } from './parts';

const lossPart: LossPart = { input: 'embeddings', supervised: true, compute: () => undefined as never };
const samplerPart: SamplerPart = { epoch: () => [], batchesPerEpoch: () => 0 };
const evaluatorPart: EvaluatorPart = { key: 'knn', evaluate: async () => ({}) };

const lossPlugin = definePlugin({
  name: 'test-losses',
  losses: {
    'supcon-out': defineFactory({
      schema: z.object({ temperature: z.number().positive().default(0.1), baseTemperature: z.number().optional() }),
      create: () => lossPart,
    }),
    triplet: defineFactory({ schema: z.object({ margin: z.number() }), create: () => lossPart }),
  },
});

const samplerPlugin = definePlugin({
  name: 'test-samplers',
  samplers: {
    random: defineFactory({ schema: z.object({ dropLast: z.boolean().default(true) }), create: () => samplerPart }),
  },
  evaluators: {
    knn: defineFactory({ schema: z.object({ k: z.number().int().default(20) }), create: () => evaluatorPart }),
  },
  hooks: {
    progress: defineFactory({ schema: z.object({ every: z.number().default(10) }), create: () => ({}) }),
  },
});

// ---- positive cases -------------------------------------------------------------------------
defineConfig({ plugins: [lossPlugin], loss: { type: 'supcon-out' } });
defineConfig({ plugins: [lossPlugin], loss: { type: 'supcon-out', temperature: 0.07 }, train: { epochs: 3 } });
defineConfig({ plugins: [lossPlugin], loss: { type: 'triplet', margin: 0.2 } });
defineConfig({ plugins: [lossPlugin, samplerPlugin], loss: { type: 'triplet', margin: 1 }, sampler: { type: 'random' } });
defineConfig({ seed: 3, backend: 'wasm', name: 'x', out: 'runs/x', train: { epochs: 1, batchSize: 8, views: 2 } });
defineConfig({ plugins: [samplerPlugin], eval: [{ type: 'knn' }, { type: 'knn', k: 5 }], hooks: [{ type: 'progress', every: 1 }] });
// module specifiers are allowed too (typed loosely: their types are unknown until run time)
defineConfig({ plugins: ['./my-plugin.js', lossPlugin], loss: { type: 'supcon-out' } });
const typed = defineConfig({ plugins: [lossPlugin], loss: { type: 'supcon-out', temperature: 0.5 } });
const temperature: number | undefined = typed.loss?.type === 'supcon-out' ? typed.loss.temperature : undefined;
void temperature;

// createDefineConfig: builtins' types plus the config's own plugins' types
const defineWithBuiltins = createDefineConfig([samplerPlugin]);
defineWithBuiltins({ sampler: { type: 'random', dropLast: false } });
defineWithBuiltins({ plugins: [lossPlugin], sampler: { type: 'random' }, loss: { type: 'supcon-out' } });

// ---- negative cases -------------------------------------------------------------------------
// @ts-expect-error unknown loss type (typo)
defineConfig({ plugins: [lossPlugin], loss: { type: 'supcon-otu' } });
// @ts-expect-error wrong option type: temperature is a number
defineConfig({ plugins: [lossPlugin], loss: { type: 'supcon-out', temperature: '0.1' } });
// @ts-expect-error unknown option
defineConfig({ plugins: [lossPlugin], loss: { type: 'supcon-out', temprature: 0.1 } });
// @ts-expect-error missing `type`
defineConfig({ plugins: [lossPlugin], loss: { temperature: 0.1 } });
// @ts-expect-error required option missing (triplet needs margin)
defineConfig({ plugins: [lossPlugin], loss: { type: 'triplet' } });
// @ts-expect-error a sampler type needs a plugin that provides it
defineConfig({ plugins: [lossPlugin], sampler: { type: 'random' } });
// @ts-expect-error unknown backend
defineConfig({ backend: 'gpu' });
// @ts-expect-error epochs is a number
defineConfig({ train: { epochs: '3' } });
// @ts-expect-error builtins do not provide losses unless the config adds the plugin
defineWithBuiltins({ loss: { type: 'supcon-out' } });
// @ts-expect-error wrong option type on a builtin
defineWithBuiltins({ sampler: { type: 'random', dropLast: 1 } });
// @ts-expect-error wrong option type inside the eval list
defineConfig({ plugins: [samplerPlugin], eval: [{ type: 'knn', k: '5' }] });
// @ts-expect-error unknown hook type
defineConfig({ plugins: [samplerPlugin], hooks: [{ type: 'progres' }] });
