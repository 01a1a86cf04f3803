/** The error a run stops with when a step's loss, gradient or another metric is NaN or infinite. */

export interface NonFiniteDetails {
  epoch: number;
  /** Step within the epoch, from 0. */
  step: number;
  globalStep: number;
  /** The step's metrics, with the non-finite ones among them (`loss`, `gradNorm`, ...). */
  metrics: Record<string, number>;
  /** Folder of the last checkpoint written or restored, kept as it was; undefined when none was. */
  lastCheckpoint: string | undefined;
}

/**
 * Thrown by the runner at the first step whose loss or gradient (or any metric the task returns)
 * is NaN or infinite. The message names the epoch, the step and what was non-finite, and the last
 * good checkpoint, which the runner leaves untouched. The CLI exits with code 1 on it.
 */
export class SupconNonFiniteError extends Error {
  override name = 'SupconNonFiniteError';
  readonly epoch: number;
  readonly step: number;
  readonly globalStep: number;
  readonly metrics: Record<string, number>;
  /** Names of the non-finite metrics, e.g. `['loss', 'gradNorm']`. */
  readonly nonFinite: string[];
  readonly lastCheckpoint: string | undefined;

  constructor(details: NonFiniteDetails) {
    const nonFinite = Object.keys(details.metrics).filter((k) => !Number.isFinite(details.metrics[k]));
    const what = nonFinite.map((k) => `${k} = ${details.metrics[k]}`).join(', ');
    const subject = nonFinite.includes('loss') ? 'the loss' : nonFinite.includes('gradNorm') ? 'the gradient' : nonFinite.join(', ');
    super(
      `training diverged: ${subject} is not finite at epoch ${details.epoch}, step ${details.step} (global step ${details.globalStep}): ${what}. ` +
        `The step's update was not applied and the run stopped. ` +
        (details.lastCheckpoint
          ? `The last good checkpoint is ${details.lastCheckpoint}; lower the learning rate (or check the data) and resume from it.`
          : 'No checkpoint was written yet; lower the learning rate (or check the data) and start again.'),
    );
    this.epoch = details.epoch;
    this.step = details.step;
    this.globalStep = details.globalStep;
    this.metrics = { ...details.metrics };
    this.nonFinite = nonFinite;
    this.lastCheckpoint = details.lastCheckpoint;
  }
}
