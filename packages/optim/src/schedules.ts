/**
 * Learning-rate schedules: multipliers of the optimiser's base rate at a global step
 * (`ScheduleProgress` from @supcon/core: step from 0, stepsPerEpoch, totalSteps).
 */
import type { SchedulePart, ScheduleProgress } from '@supcon/core';

export interface CosineOptions {
  /** Linear warm-up length in epochs (may be fractional; default 0). */
  warmupEpochs?: number;
  /** Warm-up starts at this fraction of the base rate (default 0: from lr/warmupSteps). */
  warmupStart?: number;
  /** The rate ends at this fraction of the base rate (default 0). */
  finalFraction?: number;
}

/**
 * Cosine decay with linear warm-up: during warm-up the factor rises linearly to 1 at the end of
 * warm-up (step w-1 gives 1); then `final + (1 - final) * (1 + cos(pi * p)) / 2` with
 * p = (step - w) / (total - w) going from 0 to (total-w-1)/(total-w).
 */
export function cosineSchedule(options: CosineOptions = {}): SchedulePart {
  const { warmupEpochs = 0, warmupStart = 0, finalFraction = 0 } = options;
  if (!(warmupEpochs >= 0)) throw new RangeError(`cosine.warmupEpochs: expected a number >= 0, got ${warmupEpochs}`);
  if (!(finalFraction >= 0 && finalFraction <= 1)) throw new RangeError(`cosine.finalFraction: expected a number in [0, 1], got ${finalFraction}`);
  return {
    factor({ step, stepsPerEpoch, totalSteps }: ScheduleProgress): number {
      const warmup = Math.min(totalSteps, Math.round(warmupEpochs * stepsPerEpoch));
      if (step < warmup) return warmupStart + (1 - warmupStart) * ((step + 1) / warmup);
      const span = Math.max(1, totalSteps - warmup);
      const p = Math.min(1, (step - warmup) / span);
      return finalFraction + (1 - finalFraction) * 0.5 * (1 + Math.cos(Math.PI * p));
    },
  };
}

export interface StepScheduleOptions {
  /** Epochs at which the rate is multiplied by `gamma` (e.g. [60, 75, 90]). */
  milestones: number[];
  /** Default 0.1. */
  gamma?: number;
  warmupEpochs?: number;
}

/** Step decay: factor gamma^k after k milestones (by epoch = floor(step / stepsPerEpoch)), optional linear warm-up. */
export function stepSchedule(options: StepScheduleOptions): SchedulePart {
  const { milestones, gamma = 0.1, warmupEpochs = 0 } = options;
  const sorted = [...milestones].sort((a, b) => a - b);
  return {
    factor({ step, stepsPerEpoch }: ScheduleProgress): number {
      const warmup = Math.round(warmupEpochs * stepsPerEpoch);
      const base = step < warmup ? (step + 1) / warmup : 1;
      const epoch = Math.floor(step / Math.max(1, stepsPerEpoch));
      return base * gamma ** sorted.filter((m) => epoch >= m).length;
    },
  };
}

/** A constant factor (default 1). */
export function constantSchedule(factor = 1): SchedulePart {
  return { factor: () => factor };
}
