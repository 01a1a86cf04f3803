/**
 * Benchmark: two simclr views of a 256-image 32x32x3 batch vs one ResNet-18 (CIFAR stem)
 * training step on the same backend. Run: `npm run bench -w packages/augment` (build first:
 * `NX_DAEMON=false npx nx build @supcon/augment`).
 *
 * Env: BENCH_BACKENDS (default "cpu,wasm"), BENCH_RUNS (default 5), BENCH_STEP_BATCH (images in
 * the timed ResNet step, default 32; the step time for the 512 images of two 256-image views is
 * extrapolated linearly from it, because a full 512-image step takes minutes on 2 shared cores).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRng } from '@supcon/core';
import { multiView, simclr } from '@supcon/augment';

const backends = (process.env.BENCH_BACKENDS ?? 'cpu,wasm').split(',');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const stepBatch = Number(process.env.BENCH_STEP_BATCH ?? 32);
const BATCH = 256;
// Non-literal specifiers: optional, resolved at run time (built dist), not type-checked here.
const BACKBONES: string = '@supcon/backbones';
const BACKENDS: string = '@supcon/backends';
const VIEWS = 2;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => tf.Tensor, n: number): number {
  const ms: number[] = [];
  for (let r = 0; r < n + 1; r++) {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    const dt = performance.now() - t0;
    out.dispose();
    if (r > 0) ms.push(dt); // the first run warms up
  }
  return median(ms);
}

/** ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), built here only if @supcon/backbones has no `resnet` yet. */
function localResnet18(): tfl.LayersModel {
  const input = tfl.input({ shape: [32, 32, 3] });
  const convBn = (x: tfl.SymbolicTensor, filters: number, stride: number, kernel = 3): tfl.SymbolicTensor => {
    const c = tfl.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
    return tfl.layers.batchNormalization().apply(c) as tfl.SymbolicTensor;
  };
  let x = tfl.layers.reLU().apply(convBn(input, 64, 1)) as tfl.SymbolicTensor;
  let channels = 64;
  for (const [filters, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]] as const) {
    for (let block = 0; block < 2; block++) {
      const s = block === 0 ? stride : 1;
      const y = convBn(tfl.layers.reLU().apply(convBn(x, filters, s)) as tfl.SymbolicTensor, filters, 1);
      const shortcut = s !== 1 || channels !== filters ? convBn(x, filters, s, 1) : x;
      x = tfl.layers.reLU().apply(tfl.layers.add().apply([y, shortcut])) as tfl.SymbolicTensor;
      channels = filters;
    }
  }
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: pooled });
}

/** Imports a sibling package only when its built entry exists (a missing dist must not stall the bench). */
async function optionalImport(spec: string): Promise<Record<string, unknown> | null> {
  try {
    const entry = createRequire(import.meta.url).resolve(spec);
    if (!existsSync(entry)) return null;
    return (await import(spec)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function resnet18(): Promise<{ model: tfl.LayersModel; source: string }> {
  try {
    const mod = (await optionalImport(BACKBONES)) ?? {};
    if (typeof mod.resnet === 'function') {
      const make = mod.resnet as (o: { depth: number; stem: string; inputShape: number[] }) => tfl.LayersModel;
      return { model: make({ depth: 18, stem: 'cifar', inputShape: [32, 32, 3] }), source: '@supcon/backbones resnet' };
    }
  } catch {
    // not built yet
  }
  return { model: localResnet18(), source: 'local tfjs-layers ResNet-18 (CIFAR stem); @supcon/backbones resnet not available yet' };
}

async function main(): Promise<void> {
  if (process.env.BENCH_DEBUG) console.log('start');
  const data = new Float32Array(BATCH * 32 * 32 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) % 1000 / 999;
  for (const backend of backends) {
    await tf.setBackend(backend);
    await tf.ready();
    let kernels = 'stock kernels';
    if (backend === 'wasm') {
      try {
        const mod = (await optionalImport(BACKENDS)) ?? {};
        if (typeof mod.registerWasmTrainingKernels === 'function') {
          (mod.registerWasmTrainingKernels as () => void)();
          kernels = '@supcon/backends registerWasmTrainingKernels';
        }
      } catch {
        kernels = 'stock kernels (@supcon/backends not built)';
      }
    }
    if (process.env.BENCH_DEBUG) console.log('backend', tf.getBackend());
    const images = tf.tensor4d(data, [BATCH, 32, 32, 3]);
    const mv = multiView(simclr(), VIEWS);
    const rng = createRng(0);
    const augMs = time(() => mv.apply(images, rng), runs);
    if (process.env.BENCH_DEBUG) console.log('aug', augMs);

    const { model, source } = await resnet18();
    if (process.env.BENCH_DEBUG) console.log('model', source);
    const opt = tf.train.sgd(0.01);
    const x = tf.tensor4d(data.subarray(0, stepBatch * 32 * 32 * 3), [stepBatch, 32, 32, 3]);
    let stepMs = NaN;
    let note = '';
    try {
      stepMs = time(
        () =>
          opt.minimize(() => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, true) as tf.Scalar,
        Math.max(1, Math.min(runs, 3)),
      );
    } catch (e) {
      note = `ResNet step failed: ${(e as Error).message.split('\n')[0]}`;
    }
    const step512 = (stepMs * (BATCH * VIEWS)) / stepBatch;
    console.log(`[${backend}] (${kernels})`);
    console.log(`  augment: multiView(simclr(), 2) on ${BATCH}x32x32x3: ${augMs.toFixed(1)} ms (median of ${runs})`);
    console.log(`  ResNet-18 train step (fwd+bwd+SGD) at batch ${stepBatch}: ${stepMs.toFixed(1)} ms [${source}]`);
    console.log(`  ResNet-18 step extrapolated to ${BATCH * VIEWS} images: ${step512.toFixed(0)} ms`);
    console.log(`  ratio augment / step(${BATCH * VIEWS}): ${((100 * augMs) / step512).toFixed(2)}% (target < 10%) ${note}`);
    images.dispose();
    x.dispose();
    model.dispose();
    opt.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
