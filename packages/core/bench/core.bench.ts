/**
 * Checkpoint I/O: saveCheckpoint / loadCheckpoint of an 11.5M-parameter MLP with Adam state
 * (about 138 MB on disk), side by side with torch.save / torch.load of the same model and state
 * (PyTorch on the same CPU), and config loading (YAML and TS through jiti).
 *   NX_DAEMON=false npx nx build @supcon/core && cd packages/core && npm run bench
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadCheckpoint, loadConfigFile, saveCheckpoint } from '@supcon/core';

const SIZES = [1024, 2048, 2048, 2048, 512];
const REPEATS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

const PY = `
import time, torch, tempfile, os, statistics
sizes = ${JSON.stringify(SIZES)}
layers = []
for a, b in zip(sizes[:-1], sizes[1:]):
    layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
model = torch.nn.Sequential(*layers[:-1])
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
model(torch.randn(2, sizes[0])).square().mean().backward()
opt.step()
d = tempfile.mkdtemp()
f = os.path.join(d, 'ckpt.pt')
def save():
    tmp = f + '.tmp'
    with open(tmp, 'wb') as fh:  # flushed to disk like saveCheckpoint's files
        torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'state': {'epoch': 1}}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, f)
def load():
    c = torch.load(f)
    model.load_state_dict(c['model']); opt.load_state_dict(c['optimizer'])
for name, fn in (('save', save), ('load', load)):
    ts = []
    for _ in range(${REPEATS}):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
    print(name, statistics.median(ts))
print('bytes', os.path.getsize(f))
`;

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const layers = SIZES.slice(1).map((units, i) =>
    tfl.layers.dense({ units, activation: i < SIZES.length - 2 ? 'relu' : 'linear', ...(i === 0 ? { inputShape: [SIZES[0]] } : {}) }),
  );
  const model = tfl.sequential({ layers });
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([2, SIZES[0]]);
  optimizer.minimize(() => tf.mean(tf.square(model.predict(x) as tf.Tensor)) as tf.Scalar);
  const params = model.countParams();
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'supcon-bench-')), 'ckpt');

  const before = tf.memory().numTensors;
  const save = await time(() => saveCheckpoint(dir, { model, optimizer, state: { epoch: 1 } }));
  const load = await time(() => loadCheckpoint(dir, { model, optimizer }));
  if (tf.memory().numTensors !== before) throw new Error(`checkpoint I/O leaked ${tf.memory().numTensors - before} tensors`);

  let torch: Record<string, number> | undefined;
  try {
    const out = execFileSync('/usr/bin/python3', ['-c', PY], { encoding: 'utf8' });
    torch = Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
  } catch (error) {
    console.log(`(PyTorch reference skipped: ${(error as Error).message.split('\n')[0]})`);
  }

  console.log(`checkpoint of an MLP ${SIZES.join('-')} (${(params / 1e6).toFixed(1)}M params) + Adam state, median of ${REPEATS}:`);
  const row = (name: string, ms: number, ref?: number) =>
    console.log(`  ${name.padEnd(6)} supcon ${ms.toFixed(0).padStart(6)} ms` + (ref ? `   torch ${ref.toFixed(0).padStart(6)} ms   ratio ${(ms / ref).toFixed(2)}x` : ''));
  row('save', save, torch?.save);
  row('load', load, torch?.load);

  const cfgDir = mkdtempSync(path.join(tmpdir(), 'supcon-bench-cfg-'));
  writeFileSync(path.join(cfgDir, 'supcon.config.yaml'), 'seed: 1\ntrain: { epochs: 1, batchSize: 8 }\n');
  writeFileSync(path.join(cfgDir, 'supcon.config.ts'), 'const n: number = 1;\nexport default { seed: n, train: { epochs: 1, batchSize: 8 } };\n');
  const yaml = await time(() => loadConfigFile(path.join(cfgDir, 'supcon.config.yaml')));
  const ts = await time(() => loadConfigFile(path.join(cfgDir, 'supcon.config.ts')));
  console.log(`config load: yaml ${yaml.toFixed(1)} ms, ts (jiti) ${ts.toFixed(1)} ms`);
  rmSync(path.dirname(dir), { recursive: true, force: true });
  rmSync(cfgDir, { recursive: true, force: true });
  tf.dispose(x);
}

void main();
