/**
 * Learning-rate schedules: multipliers of the optimiser's base rate at a global step
 * (`ScheduleProgress` from @supcon/core: `globalStep` from 0 over the whole run, `stepsPerEpoch`,
 * `totalSteps`). Apply one with `applySchedule` from @supcon/core.
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
 * Cosine decay with linear warm-up over the whole run. During warm-up (the first
 * w = round(warmupEpochs * stepsPerEpoch) global steps) the factor rises linearly from
 * `warmupStart + (1 - warmupStart) / w` to 1 on step w - 1; warm-up happens once, at the start.
 * Then `final + (1 - final) * (1 + cos(pi * p)) / 2` with p = (globalStep - w) / (totalSteps - w - 1),
 * which is 1 on the first step after warm-up and exactly `finalFraction` on the last step of the
 * last epoch.
 */
export function cosineSchedule(options: CosineOptions = {}): SchedulePart {
  const { warmupEpochs = 0, warmupStart = 0, finalFraction = 0 } = options;
  if (!(warmupEpochs >= 0)) throw new RangeError(`cosine.warmupEpochs: expected a number >= 0, got ${warmupEpochs}`);
  if (!(warmupStart >= 0 && warmupStart <= 1)) throw new RangeError(`cosine.warmupStart: expected a number in [0, 1], got ${warmupStart}`);
  if (!(finalFraction >= 0 && finalFraction <= 1)) throw new RangeError(`cosine.finalFraction: expected a number in [0, 1], got ${finalFraction}`);
  return {
    factor({ globalStep, stepsPerEpoch, totalSteps }: ScheduleProgress): number {
      const warmup = Math.min(totalSteps, Math.round(warmupEpochs * stepsPerEpoch));
      if (globalStep < warmup) return warmupStart + (1 - warmupStart) * ((globalStep + 1) / warmup);
      const span = totalSteps - warmup - 1;
      const p = span > 0 ? Math.min(1, (globalStep - warmup) / span) : 0;
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

/**
 * Step decay: factor gamma^k once k milestones are reached, by epoch = floor(globalStep / stepsPerEpoch)
 * (milestone 60 takes effect on the first step of epoch 60, counting from 0), with an optional linear
 * warm-up over the first round(warmupEpochs * stepsPerEpoch) global steps.
 */
export function stepSchedule(options: StepScheduleOptions): SchedulePart {
  const { milestones, gamma = 0.1, warmupEpochs = 0 } = options;
  const sorted = [...milestones].sort((a, b) => a - b);
  return {
    factor({ globalStep, stepsPerEpoch }: ScheduleProgress): number {
      const warmup = Math.round(warmupEpochs * stepsPerEpoch);
      const base = globalStep < warmup ? (globalStep + 1) / warmup : 1;
      const epoch = Math.floor(globalStep / Math.max(1, stepsPerEpoch));
      return base * gamma ** sorted.filter((m) => epoch >= m).length;
    },
  };
}

/** A constant factor (default 1). */
export function constantSchedule(factor = 1): SchedulePart {
  return { factor: () => factor };
}
