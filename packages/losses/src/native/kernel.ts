/**
 * Loader for the WebAssembly SIMD row kernel (native/supcon_rows.c). Compiled on first use:
 * synchronously where the runtime allows it (Node, workers); where a browser's main thread
 * refuses synchronous compilation of modules over 4 KiB it compiles in the background and the
 * JavaScript path serves meanwhile (`loadFusedKernel()` waits for it). Runtimes without
 * WebAssembly SIMD keep the JavaScript path.
 */
import type { FusedProblem } from '../fused';
import { SUPCON_ROWS_WASM } from './supcon_rows_wasm';

interface Exports {
  memory: WebAssembly.Memory;
  supcon_rows(
    dots: number,
    anchors: number,
    batch: number,
    views: number,
    memory: number,
    labels: number,
    mask: number,
    flags: number,
    invT: number,
    coef: number,
    stats: number,
    scratch: number,
  ): void;
  symmetrize(g: number, n: number, stride: number): void;
  mirror_block(d: number, n: number, h: number, stride: number): void;
  heap_base(): number;
}

/**
 * A row-kernel problem: {@link FusedProblem} without the dot products (they go in `prepare`'s
 * view). Denominator 'one-positive' is not in the kernel (it needs a log per positive): the
 * JavaScript row pass serves it.
 */
export interface RowsInput extends Omit<FusedProblem, 'dots'> {
  /** Weight of each anchor's loss in the final mean. */
  coefficient: Float64Array;
}

/** The kernel computes denominators 'all' and 'only-negatives'. */
export function kernelHandles(denominator: FusedProblem['denominator']): boolean {
  return denominator === undefined || denominator === 'all' || denominator === 'only-negatives';
}

function assertKernelDenominator(denominator: FusedProblem['denominator']): void {
  if (!kernelHandles(denominator))
    throw new Error(`fused kernel: denominator '${denominator}' is not in the kernel`);
}

/**
 * Per anchor: max, Z, W, then 'out': Σ w s; 'in': posMax, posZ (see the C source). Z is NaN (and
 * the row's gradient all NaN) where one of the row's logits is NaN or ±Inf.
 */
export const STATS_PER_ROW = 5;

/** The instantiated kernel with its memory; buffers stay valid until the next `prepare`. */
export class RowsKernel {
  private offsets = { dots: 0, labels: 0, mask: 0, coef: 0, stats: 0, scratch: 0 };

  constructor(private readonly exports: Exports) {}

  /** Size of the kernel's memory (it grows to the largest problem seen and stays). */
  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /**
   * Lays out memory for a problem and returns the `[anchors, rows]` float32 view to fill with the
   * dot products; `run` then turns it into the scaled gradient.
   */
  prepare(input: RowsInput): Float32Array {
    const { anchors, batch, views } = input;
    const extra = input.memory ?? 0;
    const rows = batch * views + extra;
    const samples = batch + extra;
    const align = (x: number) => (x + 15) & ~15;
    const o = this.offsets;
    o.dots = align(this.exports.heap_base());
    o.labels = align(o.dots + anchors * rows * 4);
    o.mask = align(o.labels + samples * 4);
    o.coef = align(o.mask + (input.mask ? batch * samples * 4 : 0));
    o.stats = align(o.coef + anchors * 4);
    o.scratch = align(o.stats + anchors * STATS_PER_ROW * 8);
    const end = o.scratch + (rows + 4) * 4;
    const memory = this.exports.memory;
    if (end > memory.buffer.byteLength)
      memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
    const buffer = memory.buffer;
    if (input.labels) new Int32Array(buffer, o.labels, samples).set(input.labels);
    if (input.mask) new Float32Array(buffer, o.mask, batch * samples).set(input.mask);
    new Float32Array(buffer, o.coef, anchors).set(input.coefficient);
    return new Float32Array(buffer, o.dots, anchors * rows);
  }

  /**
   * Fills the prepared dot products' square `[n, n]` block (row stride `stride`, default n):
   * block rows < h, columns h..n-1 from its transpose.
   */
  mirror(n: number, h: number, stride = n): void {
    this.exports.mirror_block(this.offsets.dots, n, h, stride);
  }

  /**
   * Runs the kernel on the prepared problem; returns the row statistics and the gradient view.
   * `symmetrize`: replace the gradient's square block of the batch's columns by G + Gᵀ (square
   * problems: every view an anchor).
   */
  run(input: RowsInput, symmetrize: boolean): { stats: Float64Array; grad: Float32Array } {
    const { anchors, batch, views } = input;
    const memory = input.memory ?? 0;
    const rows = batch * views + memory;
    const o = this.offsets;
    assertKernelDenominator(input.denominator);
    const flags =
      (input.variant === 'in' ? 1 : 0) |
      (input.denominator === 'only-negatives' ? 2 : 0) |
      (input.exclusions ? 4 : 0);
    this.exports.supcon_rows(
      o.dots,
      anchors,
      batch,
      views,
      memory,
      input.labels ? o.labels : 0,
      input.mask ? o.mask : 0,
      flags,
      1 / input.temperature,
      o.coef,
      o.stats,
      o.scratch,
    );
    if (symmetrize) this.exports.symmetrize(o.dots, anchors, rows);
    const buffer = this.exports.memory.buffer;
    return {
      stats: new Float64Array(buffer, o.stats, anchors * STATS_PER_ROW),
      grad: new Float32Array(buffer, o.dots, anchors * rows),
    };
  }
}

let kernel: RowsKernel | null | undefined;
let compiling: Promise<RowsKernel | null> | undefined;

function wasmBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(SUPCON_ROWS_WASM);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function instantiate(module: WebAssembly.Module): RowsKernel {
  return new RowsKernel(new WebAssembly.Instance(module, {}).exports as unknown as Exports);
}

/** Compiles the kernel in the background; resolves to whether it is usable. */
export function loadFusedKernel(): Promise<boolean> {
  if (kernel !== undefined) return Promise.resolve(kernel !== null);
  compiling ??= (
    typeof WebAssembly === 'object'
      ? WebAssembly.compile(wasmBytes())
      : Promise.reject(new Error('no WebAssembly'))
  )
    .then(instantiate)
    .catch(() => null)
    .then((k) => (kernel = k));
  return compiling.then((k) => k !== null);
}

/**
 * The kernel, or undefined while it is unavailable (no WebAssembly SIMD, or still compiling in
 * the background on a browser's main thread). `SUPCON_FUSED_KERNEL=js` forces the JavaScript path.
 */
export function fusedKernel(): RowsKernel | undefined {
  if (kernel !== undefined) return kernel ?? undefined;
  if (typeof process === 'object' && process.env?.SUPCON_FUSED_KERNEL === 'js') return undefined;
  if (typeof WebAssembly !== 'object') {
    kernel = null;
    return undefined;
  }
  try {
    kernel = instantiate(new WebAssembly.Module(wasmBytes()));
  } catch (e) {
    if (e instanceof RangeError) void loadFusedKernel();
    else kernel = null;
    return undefined;
  }
  return kernel;
}

/** Whether the SIMD kernel is in use, and the bytes of its own memory (outside tfjs's accounting). */
export function fusedKernelInfo(): { available: boolean; memoryBytes: number } {
  const k = fusedKernel();
  return { available: k !== undefined, memoryBytes: k?.memoryBytes ?? 0 };
}

/** For tests: forget the compiled kernel. */
export function resetFusedKernel(): void {
  kernel = undefined;
  compiling = undefined;
}
