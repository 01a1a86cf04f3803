import os from 'node:os';
import { WASM_MAX_THREADS } from '@supcon/backends';

/** The config's `threads` as a count: 'auto' (or absent) = the CPUs Node reports available, at most 8. */
export function threadCount(threads: number | 'auto' | undefined): number {
  if (typeof threads === 'number') return threads;
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(WASM_MAX_THREADS, cpus));
}
