/**
 * Train-step throughput (forward, contrastive loss, backward, SGD update), tfjs wasm with
 * supcon's training kernels against PyTorch CPU on the same models, in one run.
 *
 *   npm run bench                 # both models, batch 128
 *   npm run bench -- --model small --steps 5 --profile
 *
 * Flags: --model small|resnet18|all, --batch N, --steps N, --profile (per-kernel times of one step),
 * --no-torch (skip PyTorch), --torch-threads N, --threads N (XNNPACK threads of the wasm backend, tfjs's
 * threaded build; default the available CPUs, at most 8, as the CLI's threads: 'auto'), --workers N (data parallel), --micro N (tfjs micro-batch, gradients accumulated; default the batch),
 * --backend wasm|cpu|webgpu|tensorflow|tensorflow-gpu (default wasm; tools/gpu-check.sh runs the GPU ones),
 * --json FILE (also write the results as JSON).
 */
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend, wasmThreadsInUse } from '../src/index';
import type { ConcreteBackend } from '../src/index';
import { MODELS, buildModel, contrastiveLoss, setBatchNormKind, type ModelSpec } from './models';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
};
const batch = Number(flag('batch', '128'));
const steps = Number(flag('steps', '3'));
const which = flag('model', 'all');
// --micro N: run the batch as micro-batches with gradients accumulated before one SGD update (for
// batches whose saved activations would not fit the 4 GiB wasm32 heap; ResNet-18 at batch 128
// needs 2.3 GiB with @supcon/backbones' BatchNorm, more than 4 with tfjs's).
const microFlag = flag('micro', '');
const profile = args.includes('--profile');
// --workers N: data parallel over N worker threads (one wasm instance each, batch split N ways,
// gradients averaged on the main thread; each worker's contrastive loss sees its own share).
const workers = Number(flag('workers', '1'));
// Default: the CPUs Node reports, at most 8 (what the CLI's `threads: 'auto'` uses).
const threads = Number(flag('threads', String(Math.min(8, availableParallelism()))));
const backendName = flag('backend', 'wasm') as ConcreteBackend;
const jsonOut = flag('json', '');
const BENCH_BACKENDS: readonly ConcreteBackend[] = ['wasm', 'cpu', 'webgpu', 'tensorflow', 'tensorflow-gpu'];
if (!BENCH_BACKENDS.includes(backendName))
  throw new Error(`--backend: expected one of ${BENCH_BACKENDS.join(', ')}, got ${backendName}`);
if (backendName !== 'wasm' && workers > 1)
  throw new Error(`--workers: data parallel runs wasm instances; --backend ${backendName} runs one`);
const torchThreads = flag('torch-threads', '');
const withTorch = !args.includes('--no-torch');
// --bn tfjs: tf.layers.batchNormalization instead of @supcon/backbones' BatchNorm.
setBatchNormKind(flag('bn', 'supcon') === 'tfjs' ? 'tfjs' : 'supcon');
const here = dirname(fileURLToPath(import.meta.url));

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.length ?? 0;
}

async function tfjsImagesPerSecond(
  spec: ModelSpec,
  micro: number,
): Promise<{ ips: number; loss: number }> {
  const model = buildModel(spec);
  const opt = tf.train.sgd(0.05);
  const parts = Math.ceil(batch / micro);
  const xs = Array.from(
    { length: parts },
    (_, p) =>
      tf.randomNormal(
        [Math.min(micro, batch - p * micro), spec.size, spec.size, spec.inChannels],
        0,
        1,
        'float32',
        p,
      ) as tf.Tensor4D,
  );
  const ys = xs.map((x) =>
    tf.tensor1d(
      Array.from({ length: x.shape[0] }, (_, i) => i % 10),
      'int32',
    ),
  );
  const step = () => {
    if (parts === 1) {
      const cost = opt.minimize(
        () => contrastiveLoss(model.apply(xs[0]!, { training: true }) as tf.Tensor2D, ys[0]!),
        true,
      );
      const v = cost!.dataSync()[0]!;
      cost!.dispose();
      sampleRss();
      return v;
    }
    let acc: tf.NamedTensorMap | undefined;
    let v = 0;
    for (let p = 0; p < parts; p++) {
      const { value, grads } = tf.variableGrads(() =>
        contrastiveLoss(model.apply(xs[p]!, { training: true }) as tf.Tensor2D, ys[p]!),
      );
      v += value.dataSync()[0]! / parts;
      value.dispose();
      if (acc === undefined) {
        acc = grads;
      } else {
        const prev: tf.NamedTensorMap = acc;
        acc = Object.fromEntries(Object.keys(grads).map((k) => [k, tf.add(prev[k]!, grads[k]!)]));
        tf.dispose([...Object.values(prev), ...Object.values(grads)]);
      }
      sampleRss();
    }
    const mean = tf.tidy(() =>
      Object.fromEntries(Object.entries(acc!).map(([k, g]) => [k, tf.div(g, parts)])),
    );
    tf.dispose(Object.values(acc!));
    opt.applyGradients(mean);
    tf.dispose(Object.values(mean));
    return v;
  };
  step();
  if (profile) {
    const info = await tf.profile(() => {
      step();
    });
    const byKernel = new Map<string, number>();
    for (const k of info.kernels)
      byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
    console.log(`  profile (${spec.name}): ${total.toFixed(0)} ms in kernels`);
    for (const [name, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      console.log(
        `    ${name.padEnd(28)} ${ms.toFixed(0).padStart(7)} ms  ${((100 * ms) / total).toFixed(1)}%`,
      );
    }
    if (process.env.PROFILE_DETAIL) {
      const byShape = new Map<string, number>();
      for (const k of info.kernels) {
        const key = `${k.name} ${JSON.stringify(k.inputShapes)} -> ${JSON.stringify(k.outputShapes)}`;
        byShape.set(key, (byShape.get(key) ?? 0) + (k.kernelTimeMs as number));
      }
      for (const [key, ms] of [...byShape]
        .sort((a, b) => b[1] - a[1])
        .slice(0, Number(process.env.PROFILE_DETAIL)))
        console.log(`    ${ms.toFixed(1).padStart(7)} ms  ${key}`);
    }
  }
  const t0 = performance.now();
  let loss = 0;
  for (let i = 0; i < steps; i++) loss = step();
  const dt = (performance.now() - t0) / 1000;
  tf.dispose([...xs, ...ys]);
  model.dispose();
  opt.dispose();
  return { ips: (batch * steps) / dt, loss };
}

function once(
  w: Worker,
  kind: string,
): Promise<{ kind: string; loss?: number; grads?: Float32Array[]; heap?: number }> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { kind: string }) => {
      if (m.kind === kind) {
        w.off('message', onMsg);
        w.off('error', reject);
        resolve(m);
      }
    };
    w.on('message', onMsg);
    w.once('error', reject);
  });
}

async function dataParallelImagesPerSecond(
  spec: ModelSpec,
  n: number,
): Promise<{ ips: number; loss: number; heapMiB: number }> {
  const model = buildModel(spec);
  const weights = model.getWeights().map((w) => new Float32Array(w.dataSync() as Float32Array));
  model.dispose();
  const ws = Array.from(
    { length: n },
    () =>
      new Worker(new URL('./dp-worker.ts', import.meta.url), {
        workerData: { model: spec.name, weights, lr: 0.05 },
      }),
  );
  await Promise.all(ws.map((w) => once(w, 'ready')));
  const share = Math.ceil(batch / n);
  const inputs = ws.map((_, k) => {
    const b = Math.min(share, batch - k * share);
    const x = tf.tidy(
      () =>
        tf
          .randomNormal([b, spec.size, spec.size, spec.inChannels], 0, 1, 'float32', k)
          .dataSync() as Float32Array,
    );
    return {
      x: new Float32Array(x),
      shape: [b, spec.size, spec.size, spec.inChannels],
      labels: Int32Array.from({ length: b }, (_, i) => i % 10),
    };
  });
  let heap = 0;
  const step = async () => {
    const results = await Promise.all(
      ws.map((w, k) => {
        const r = once(w, 'grads');
        w.postMessage({ kind: 'step', ...inputs[k]! });
        return r;
      }),
    );
    const avg = results[0]!.grads!.map((g, i) => {
      const out = new Float32Array(g.length);
      for (const r of results) {
        const gi = r.grads![i]!;
        for (let j = 0; j < out.length; j++) out[j]! += gi[j]! / n;
      }
      return out;
    });
    heap = Math.max(heap, ...results.map((r) => r.heap ?? 0));
    await Promise.all(
      ws.map((w) => {
        const r = once(w, 'applied');
        w.postMessage({ kind: 'apply', grads: avg });
        return r;
      }),
    );
    sampleRss();
    return results.reduce((a, r) => a + (r.loss ?? 0), 0) / n;
  };
  await step();
  const t0 = performance.now();
  let loss = 0;
  for (let i = 0; i < steps; i++) loss = await step();
  const dt = (performance.now() - t0) / 1000;
  await Promise.all(ws.map((w) => w.terminate()));
  return { ips: (batch * steps) / dt, loss, heapMiB: heap / 2 ** 20 };
}

interface TorchResult {
  model: string;
  images_per_s: number;
  threads: number;
  peak_rss_mb: number;
}
function torchImagesPerSecond(name: string): TorchResult | undefined {
  const extra = torchThreads ? ['--threads', torchThreads] : [];
  const r = spawnSync(
    '/usr/bin/python3',
    [
      join(here, 'train_step_torch.py'),
      name,
      '--steps',
      String(steps),
      '--batch',
      String(batch),
      ...extra,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    console.log(`  PyTorch run failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

async function main() {
  await initBackend(backendName, backendName === 'wasm' ? { threads } : {});
  void tfl;
  console.log(
    backendName === 'wasm'
      ? `train step, batch ${batch}, ${steps} timed steps; tfjs ${tf.version_core} wasm (${workers > 1 ? `${workers} worker threads` : `${wasmThreadsInUse()} XNNPACK thread(s)`}) + @supcon/backends kernels`
      : `train step, batch ${batch}, ${steps} timed steps; tfjs ${tf.version_core} ${backendName} (tfjs's stock kernels)`,
  );
  const results: { backend: string; model: string; imagesPerSecond: number; loss: number; torchImagesPerSecond?: number }[] = [];
  const names =
    which === 'all' ? (['small', 'resnet18'] as const) : ([which] as ('small' | 'resnet18')[]);
  const rows: string[] = [];
  for (const name of names) {
    const spec = MODELS[name];
    const torch = withTorch ? torchImagesPerSecond(name) : undefined;
    let t: { ips: number; loss: number };
    let heapNote = '';
    if (workers > 1) {
      console.log(
        `  ${name}: tfjs data parallel over ${workers} worker threads (${Math.ceil(batch / workers)} images each)`,
      );
      const r = await dataParallelImagesPerSecond(spec, workers);
      t = r;
      heapNote = `${r.heapMiB.toFixed(0)} MiB heap/worker`;
    } else {
      const micro = Number(microFlag || batch);
      if (micro < batch)
        console.log(
          `  ${name}: tfjs runs the batch of ${batch} as ${Math.ceil(batch / micro)} micro-batches of ${micro} (gradients accumulated, one update)`,
        );
      t = await tfjsImagesPerSecond(spec, micro);
      heapNote = backendName === 'wasm' ? `${(wasmHeapBytes() / 2 ** 20).toFixed(0)} MiB heap` : `${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MiB of tensors after`;
    }
    const ratio = torch ? t.ips / torch.images_per_s : NaN;
    results.push({ backend: backendName, model: name, imagesPerSecond: t.ips, loss: t.loss, ...(torch ? { torchImagesPerSecond: torch.images_per_s } : {}) });
    rows.push(
      `| ${name.padEnd(8)} | ${t.ips.toFixed(1).padStart(7)} | ${torch ? torch.images_per_s.toFixed(1).padStart(7) : '    n/a'} (${torch?.threads ?? '?'} thr) | ${ratio.toFixed(3)} | ${heapNote}, ${(peakRss / 2 ** 20).toFixed(0)} MiB rss | ${torch ? torch.peak_rss_mb.toFixed(0) : 'n/a'} MiB |`,
    );
    console.log(
      `  ${name}: tfjs ${t.ips.toFixed(1)} images/s (loss ${t.loss.toFixed(3)})${torch ? `, PyTorch ${torch.images_per_s.toFixed(1)}, ratio ${ratio.toFixed(3)}` : ''}`,
    );
  }
  console.log(
    '\n| model    | tfjs img/s | PyTorch img/s | ratio | tfjs peak memory | torch peak rss |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
