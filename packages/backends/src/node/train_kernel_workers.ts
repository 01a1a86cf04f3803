/**
 * The worker threads that split supcon's kernels in Node (see native/train_kernels.ts): each
 * instantiates the kernel module on the wasm backend's shared memory and runs the jobs its
 * control block hands it.
 */
import { Worker } from 'node:worker_threads';
import { workerExecArgv } from './exec-argv';
import { CONTROL_INTS, KERNEL_NAMES, trainKernels } from '../native/train_kernels';
import type { Pool } from '../native/train_kernels';

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, names } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  if (seen < 0) break;
  let status = 0;
  try {
    const args = Array.from(c.subarray(5, 5 + c[4]));
    k[names[c[3]]](...args);
  } catch (e) {
    status = 1;
  }
  c[2] = status;
  Atomics.store(c, 1, seen);
  Atomics.notify(c, 1);
}
`;

/**
 * Starts `threads - 1` worker threads for the kernels on `backend` (shared memory only; a no-op
 * otherwise or when already started). The workers are unref'd: they never keep a finished
 * process alive.
 */
export async function startTrainKernelWorkers(backend: object, threads: number): Promise<void> {
  const instance = trainKernels(backend);
  if (instance === null || !instance.shared || instance.pool !== undefined || threads < 2) return;
  const controls: Int32Array[] = [];
  const workers: Worker[] = [];
  for (let t = 1; t < threads; t++) {
    const control = new SharedArrayBuffer(CONTROL_INTS * 4);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: workerExecArgv(),
      workerData: {
        module: instance.module,
        memory: instance.memory,
        control,
        names: KERNEL_NAMES,
      },
    });
    worker.unref();
    // A worker that ends (it should not) takes the pool with it: later calls run on the main
    // thread alone instead of waiting for an answer that never comes.
    const drop = () => {
      if (instance.pool === pool) instance.pool = undefined;
    };
    worker.once('exit', drop);
    worker.once('error', drop);
    controls.push(new Int32Array(control));
    workers.push(worker);
  }
  const pool: Pool = {
    controls,
    seq: 0,
    terminate: () => {
      for (const c of controls) {
        Atomics.store(c, 0, -1);
        Atomics.notify(c, 0);
      }
      for (const w of workers) void w.terminate();
    },
  };
  instance.pool = pool;
}
