/**
 * Train-step throughput (forward, contrastive loss, backward, SGD update), tfjs wasm with
 * supcon's training kernels against PyTorch CPU on the same models, in one run.
 *
 *   npm run bench                 # both models, batch 128
 *   npm run bench -- --model small --steps 5 --profile
 *
 * Flags: --model small|resnet18|all, --batch N, --steps N, --profile (per-kernel times of one step),
 * --no-torch (skip PyTorch), --stock (also time the stock wasm kernels where they exist).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/kernels/register';
import { MODELS, buildModel, contrastiveLoss, type ModelSpec } from './models';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
};
const batch = Number(flag('batch', '128'));
const steps = Number(flag('steps', '3'));
const which = flag('model', 'all');
const profile = args.includes('--profile');
const withTorch = !args.includes('--no-torch');
const here = dirname(fileURLToPath(import.meta.url));

let peakRss = 0;
const sampleRss = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };

function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.length ?? 0;
}

async function tfjsImagesPerSecond(spec: ModelSpec): Promise<{ ips: number; loss: number }> {
  const model = buildModel(spec);
  const opt = tf.train.sgd(0.05);
  const x = tf.randomNormal([batch, spec.size, spec.size, spec.inChannels], 0, 1, 'float32', 0) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const step = () => {
    const cost = opt.minimize(() => contrastiveLoss(model.apply(x, { training: true }) as tf.Tensor2D, labels), true);
    const v = cost!.dataSync()[0]!;
    cost!.dispose();
    sampleRss();
    return v;
  };
  step();
  if (profile) {
    const info = await tf.profile(() => { step(); });
    const byKernel = new Map<string, number>();
    for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
    console.log(`  profile (${spec.name}): ${total.toFixed(0)} ms in kernels`);
    for (const [name, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      console.log(`    ${name.padEnd(28)} ${ms.toFixed(0).padStart(7)} ms  ${((100 * ms) / total).toFixed(1)}%`);
    }
  }
  const t0 = performance.now();
  let loss = 0;
  for (let i = 0; i < steps; i++) loss = step();
  const dt = (performance.now() - t0) / 1000;
  tf.dispose([x, labels]);
  model.dispose();
  opt.dispose();
  return { ips: (batch * steps) / dt, loss };
}

interface TorchResult { model: string; images_per_s: number; threads: number; peak_rss_mb: number }
function torchImagesPerSecond(name: string): TorchResult | undefined {
  const r = spawnSync('/usr/bin/python3', [join(here, 'train_step_torch.py'), name, '--steps', String(steps), '--batch', String(batch)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`  PyTorch run failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

async function main() {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  void tfl;
  console.log(`train step, batch ${batch}, ${steps} timed steps; tfjs ${tf.version_core} wasm (1 thread) + @supcon/backends kernels`);
  const names = which === 'all' ? (['small', 'resnet18'] as const) : ([which] as ('small' | 'resnet18')[]);
  const rows: string[] = [];
  for (const name of names) {
    const spec = MODELS[name];
    const torch = withTorch ? torchImagesPerSecond(name) : undefined;
    const t = await tfjsImagesPerSecond(spec);
    const ratio = torch ? t.ips / torch.images_per_s : NaN;
    rows.push(
      `| ${name.padEnd(8)} | ${t.ips.toFixed(1).padStart(7)} | ${torch ? torch.images_per_s.toFixed(1).padStart(7) : '    n/a'} (${torch?.threads ?? '?'} thr) | ${ratio.toFixed(3)} | ${(wasmHeapBytes() / 2 ** 20).toFixed(0)} MiB heap, ${(peakRss / 2 ** 20).toFixed(0)} MiB rss | ${torch ? torch.peak_rss_mb.toFixed(0) : 'n/a'} MiB |`,
    );
    console.log(`  ${name}: tfjs ${t.ips.toFixed(1)} images/s (loss ${t.loss.toFixed(3)})${torch ? `, PyTorch ${torch.images_per_s.toFixed(1)}, ratio ${ratio.toFixed(3)}` : ''}`);
  }
  console.log('\n| model    | tfjs img/s | PyTorch img/s | ratio | tfjs peak memory | torch peak rss |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
