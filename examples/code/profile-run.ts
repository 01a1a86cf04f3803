/**
 * Where a training run's time goes: `train()` with a `StepProfile` (@supcon/train), one epoch of
 * SupCon on 512 images of the Fashion-MNIST sample shipped with @supcon/data, then the milliseconds
 * per step of each phase. The profile changes no number of the run; `npm run bench:run` prints the
 * same table for whole runs beside PyTorch's.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/profile-run.ts`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const out = path.join(mkdtempSync(path.join(tmpdir(), 'supcon-example-')), 'run');

// #region profile
import { PROFILE_PHASES, StepProfile, train } from '@supcon/train';

const profile = new StepProfile({ warmupSteps: 1 }); // the first step (warm-up) is not counted
await train(
  {
    name: 'profile-run',
    data: { type: 'fashion-mnist', sample: true, trainSize: 512, testSize: 200 },
    loss: { type: 'supcon-out', temperature: 0.1 },
    backbone: { type: 'small-cnn', channels: [16, 32] },
    train: { epochs: 1, batchSize: 64 },
    eval: [],
  },
  { out, profile, logger: { info: () => {}, warn: console.warn } },
);
const { steps, images, wallMs, phases } = profile.report();
for (const phase of [...PROFILE_PHASES, 'idle'] as const) {
  const share = (100 * phases[phase]) / wallMs;
  console.log(
    `${phase.padEnd(12)} ${(phases[phase] / steps).toFixed(2).padStart(8)} ms/step ${share.toFixed(1).padStart(5)}%`,
  );
}
console.log(`${steps} steps, ${((1000 * images) / wallMs).toFixed(0)} images/s`);
// #endregion profile
const busy = PROFILE_PHASES.reduce((s, p) => s + phases[p], 0);
if (!(steps === 7 && images === 448 && busy <= wallMs && phases.forward > 0 && phases.backward > 0))
  throw new Error(
    `profile: expected 7 counted steps of 64 images and phases within the wall time, got ${JSON.stringify(profile.report())}`,
  );
