/** The error a run rejects with when `RunnerOptions.signal` (or `TrainOptions.signal`) stopped it. */

/**
 * Thrown by the runner after the step under way when its `signal` was aborted, once that step's
 * checkpoint is written: resume the run (`resume: true`, `supcon train --resume`) to continue
 * from `checkpoint`, bit for bit as if it had never stopped.
 */
export class SupconRunStoppedError extends Error {
  override name = 'SupconRunStoppedError';
  /** The checkpoint a resume continues from (a path in the run's storage); undefined when none was written yet. */
  readonly checkpoint: string | undefined;

  constructor(checkpoint: string | undefined) {
    super(checkpoint ? `run stopped on request after writing ${checkpoint}: resume it to continue` : 'run stopped on request before its first checkpoint: start it again');
    this.checkpoint = checkpoint;
  }
}
