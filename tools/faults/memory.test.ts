/**
 * 200 training steps of each procedure (supcon, simclr, cross-entropy) on the wasm backend, with
 * epoch ends, epoch and mid-epoch checkpoints in between: after a warm-up of two epochs (40 steps)
 * `tf.memory().numTensors`, its bytes and the wasm heap (the module's memory, which only grows)
 * stay exactly where they were. Runs memory-probe.mjs on the built packages in a child process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

interface Sample {
  globalStep: number;
  numTensors: number;
  numDataBuffers: number;
  numBytes: number;
  heapBytes: number;
}

interface Report {
  procedure: string;
  backend: string;
  seconds: number;
  samples: Sample[];
}

const WARM_UP = 40;
const STEPS = 200;
let reports: Report[] = [];
const root = mkdtempSync(path.join(tmpdir(), 'supcon-faults-memory-'));

beforeAll(() => {
  const out = root;
  const r = spawnSync(process.execPath, [path.join(__dirname, 'memory-probe.mjs'), out], { encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 540_000 });
  if (r.status !== 0) throw new Error(`memory-probe.mjs failed (${r.status ?? r.signal}):\n${r.stderr}`);
  reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Report);
  console.log(reports.map((rep) => `${rep.procedure}: ${STEPS} steps in ${rep.seconds.toFixed(1)} s, ${rep.samples[WARM_UP].numTensors} tensors, heap ${(rep.samples[WARM_UP].heapBytes / 2 ** 20).toFixed(1)} MiB`).join('; '));
}, 600_000);

// The runs' folders go unless SUPCON_FAULTS_KEEP is set (to look at a failure).
afterAll(() => {
  if (!process.env.SUPCON_FAULTS_KEEP) rmSync(root, { recursive: true, force: true });
});

describe(`memory over ${STEPS} steps of each procedure (wasm)`, () => {
  it('ran every procedure on wasm for 200 steps', () => {
    expect(reports.map((r) => [r.procedure, r.backend, r.samples.length])).toEqual([
      ['supcon', 'wasm', STEPS],
      ['simclr', 'wasm', STEPS],
      ['ce', 'wasm', STEPS],
    ]);
  });

  it.each(['supcon', 'simclr', 'ce'])('%s: tensors, their bytes and the wasm heap are flat after the warm-up', (procedure) => {
    const { samples } = reports.find((r) => r.procedure === procedure)!;
    const base = samples[WARM_UP];
    expect(base.heapBytes).toBeGreaterThan(0);
    const grew = samples.slice(WARM_UP).filter((s) => s.numTensors !== base.numTensors || s.numDataBuffers !== base.numDataBuffers || s.numBytes !== base.numBytes || s.heapBytes > base.heapBytes);
    expect(grew.slice(0, 3)).toEqual([]);
  });
});
