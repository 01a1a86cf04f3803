/**
 * The one path from a schedule to an optimiser's learning rate, used by every training procedure,
 * so that no procedure can hand a schedule the step within the epoch.
 */
import type { OptimizerPart, SchedulePart, ScheduleProgress } from './parts';

/**
 * Sets `optimizer`'s learning rate to `baseLearningRate * schedule.factor(progress)` (the base
 * rate without a schedule) and returns it. `progress.globalStep` counts steps over the whole run.
 * @throws if the schedule's factor is not a finite number >= 0, naming the global step.
 */
export function applySchedule(optimizer: OptimizerPart, schedule: SchedulePart | undefined, progress: ScheduleProgress): number {
  const { globalStep, stepsPerEpoch, totalSteps } = progress;
  if (!Number.isInteger(globalStep) || globalStep < 0 || !(stepsPerEpoch >= 1) || !(totalSteps >= 1)) {
    throw new RangeError(
      `applySchedule: expected globalStep >= 0, stepsPerEpoch >= 1 and totalSteps >= 1, got ${globalStep}, ${stepsPerEpoch}, ${totalSteps}`,
    );
  }
  const factor = schedule ? schedule.factor({ globalStep, stepsPerEpoch, totalSteps }) : 1;
  if (!Number.isFinite(factor) || factor < 0) {
    throw new RangeError(`schedule: factor at global step ${globalStep} of ${totalSteps} is ${factor}; expected a finite number >= 0`);
  }
  const learningRate = optimizer.baseLearningRate * factor;
  optimizer.setLearningRate(learningRate);
  return learningRate;
}
