/**
 * An opt-in profile of the training loop: milliseconds per phase of `train()`'s steps, for
 * finding where a run's time goes (`npm run bench:run` prints it). Pass a `StepProfile` as
 * `train(config, { profile })` (or `createProcedure({ profile })`, with `profiledStorage` for the
 * runner's storage) and read `profile.report()` afterwards.
 *
 * The timers sit around each phase of a step, with no sync of their own: on the wasm and cpu
 * backends every op runs to completion on the calling thread, so each phase's time is its own.
 * On WebGL and WebGPU ops are queued, and the times are mostly the time to enqueue them (the
 * step's read of the loss waits for the device and is counted under `optimizer`). Profiling
 * changes no number of the run: the same ops run in the same order.
 */
import type { RunStorage } from '@supcon/core';

/** The phases a profile times, in the order a step runs most of them. */
export const PROFILE_PHASES = [
  'augmentation',
  'batching',
  'forward',
  'loss',
  'backward',
  'optimizer',
  'monitor',
  'io',
] as const;
export type ProfilePhase = (typeof PROFILE_PHASES)[number];

export interface StepProfileOptions {
  /**
   * The first steps this process runs that are not counted (default 0): warm-up (first-call
   * kernel set-up, the wasm heap growing). Counting starts at the start of the next step.
   */
  warmupSteps?: number;
}

/**
 * What a profile measured, over the counted span: from the start of the first counted step to
 * the end of training (the last epoch's checkpoint written; the evaluation is not in it).
 */
export interface StepProfileReport {
  /** Steps and images (not views) in the span. */
  steps: number;
  images: number;
  /** Wall-clock milliseconds of the span. */
  wallMs: number;
  /** Process CPU milliseconds in the span, every thread (Node's `process.cpuUsage()`); undefined elsewhere. */
  cpuMs?: number;
  /**
   * Milliseconds per phase, summed over the span:
   * - `batching`: `batchToTensor` (the uint8 images gathered into a float32 tensor, and the labels)
   * - `augmentation`: every view's `augment.apply`, and their concatenation
   * - `forward`: the model's forward pass (taped for the gradient)
   * - `loss`: the loss on the model's outputs (the fused SupCon loss computes its analytic gradient here)
   * - `backward`: the rest of `tf.variableGrads` (backpropagation through the tape)
   * - `optimizer`: the global gradient norm, the read of loss and norm, `applyGradients`
   * - `monitor`: the per-epoch 20-NN monitor
   * - `io`: time in the run's storage (metrics lines, checkpoint files, pruning old checkpoints)
   * - `idle`: the wall time minus all of the above (the runner's loop and hooks, the sampler, the
   *   learning-rate schedule, disposing the step's tensors, checkpoint serialisation, garbage
   *   collection, waiting)
   */
  phases: Record<ProfilePhase | 'idle', number>;
}

const now = (): number => performance.now();

/** Process CPU time in ms (user + system, all threads) where the platform has it (Node). */
function cpuNow(): number | undefined {
  const p = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } })
    .process;
  if (typeof p?.cpuUsage !== 'function') return undefined;
  const u = p.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Collects a training run's time per phase; see the module comment. One profile per run: the
 * procedure calls the methods below (`stepStarted`, `add`, `finish`, ...), a caller reads
 * `report()` (also in the middle of a run: the span so far).
 */
export class StepProfile {
  readonly warmupSteps: number;
  private readonly ms: Record<ProfilePhase, number> = {
    augmentation: 0,
    batching: 0,
    forward: 0,
    loss: 0,
    backward: 0,
    optimizer: 0,
    monitor: 0,
    io: 0,
  };
  private seen = 0;
  private counted = 0;
  private imagesCounted = 0;
  private startedAt: number | undefined;
  private cpuStartedAt: number | undefined;
  private endedAt: number | undefined;
  private cpuEndedAt: number | undefined;
  private ioDepth = 0;
  private ioSince = 0;

  constructor(options: StepProfileOptions = {}) {
    const warmup = options.warmupSteps ?? 0;
    if (!Number.isInteger(warmup) || warmup < 0)
      throw new RangeError(`StepProfile: warmupSteps must be an integer >= 0, got ${warmup}`);
    this.warmupSteps = warmup;
  }

  /** Whether time is being counted now: after the warm-up steps began the span, before `finish`. */
  get active(): boolean {
    return this.startedAt !== undefined && this.endedAt === undefined;
  }

  /**
   * A step of `images` images starts at `at` (a `performance.now()` time). Returns whether this
   * step is counted (the first counted one starts the span).
   */
  stepStarted(images: number, at: number = now()): boolean {
    if (this.endedAt !== undefined) return false;
    if (this.seen++ < this.warmupSteps) return false;
    if (this.startedAt === undefined) {
      this.startedAt = at;
      this.cpuStartedAt = cpuNow();
    }
    this.counted++;
    this.imagesCounted += images;
    return true;
  }

  /** Adds the time from `since` to now to `phase`, when counting; returns now. */
  add(phase: ProfilePhase, since: number): number {
    const t = now();
    if (this.active) this.ms[phase] += t - since;
    return t;
  }

  /** Adds `ms` milliseconds to `phase`, when counting. */
  addMs(phase: ProfilePhase, ms: number): void {
    if (this.active) this.ms[phase] += ms;
  }

  /** A storage call begins (nested and overlapping calls count once). */
  ioBegin(): void {
    if (this.ioDepth++ === 0) this.ioSince = now();
  }

  /** A storage call ends. */
  ioEnd(): void {
    if (--this.ioDepth === 0) this.add('io', this.ioSince);
  }

  /** Training ended (the procedure calls it when the evaluation starts); later calls do nothing. */
  finish(at: number = now()): void {
    if (this.startedAt === undefined || this.endedAt !== undefined) return;
    // A storage call still open (none is, between the runner's steps) ends here.
    if (this.ioDepth > 0) this.ms.io += at - this.ioSince;
    this.endedAt = at;
    this.cpuEndedAt = cpuNow();
  }

  /** The span so far (or the whole of it once training ended); all zeros before the first counted step. */
  report(): StepProfileReport {
    const end = this.endedAt ?? now();
    const wallMs = this.startedAt === undefined ? 0 : end - this.startedAt;
    const cpuEnd = this.endedAt !== undefined ? this.cpuEndedAt : cpuNow();
    const cpuMs =
      this.cpuStartedAt !== undefined && cpuEnd !== undefined
        ? cpuEnd - this.cpuStartedAt
        : undefined;
    const busy = PROFILE_PHASES.reduce((s, p) => s + this.ms[p], 0);
    return {
      steps: this.counted,
      images: this.imagesCounted,
      wallMs,
      ...(cpuMs !== undefined ? { cpuMs } : {}),
      phases: { ...this.ms, idle: Math.max(0, wallMs - busy) },
    };
  }
}

const STORAGE_CALLS = [
  'kind',
  'list',
  'read',
  'size',
  'write',
  'append',
  'truncate',
  'writeFolder',
  'makeFolder',
  'remove',
] as const;

/**
 * `storage` with every call timed into `profile`'s `io` phase (while it counts). `train()` wraps
 * the run's storage so when it is given a profile; with `createRunner`, pass the wrapped storage.
 */
export function profiledStorage(storage: RunStorage, profile: StepProfile): RunStorage {
  const wrapped: RunStorage = {
    location: storage.location,
    describe: (path: string) => storage.describe(path),
  } as RunStorage;
  for (const name of STORAGE_CALLS) {
    const call = (storage[name] as (...args: unknown[]) => Promise<unknown>).bind(storage);
    (wrapped as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      profile.ioBegin();
      try {
        return await call(...args);
      } finally {
        profile.ioEnd();
      }
    };
  }
  return wrapped;
}
