/**
 * Internal: the fault-injection seam of the runner, for the fault suite (`npm run test:faults`,
 * tools/faults). Not exported from the package.
 *
 * `SUPCON_FAULT_KILL_AT="<point>:<n>[,<point>:<n>...]"` makes the process SIGKILL itself the n-th
 * time (counted from 1, in this process) it reaches `<point>`:
 *
 * - `step`              after a step's metrics line and `afterStep` hooks (before a mid-epoch checkpoint)
 * - `epoch-end`         after an epoch's metrics line and `afterEpoch` hooks (before its checkpoint)
 * - `checkpoint-write`  after each file of a checkpoint is written into its temporary folder
 * - `checkpoint-saved`  after a checkpoint folder is renamed into place (before pruning)
 * - `prune`             after each older checkpoint folder is removed
 * - `eval`              before `task.evaluate`
 * - `eval-done`         after `task.evaluate` returns (before its metrics line)
 * - `summary`           after the runner writes summary.json
 *
 * The variable is read once, when this module loads. Unset (everywhere but that suite),
 * `faultPoint` is `undefined`: each call site is an optional call that does nothing, and the
 * runner passes no `onFileWritten` to `saveCheckpoint`.
 */

export type FaultPoint = 'step' | 'epoch-end' | 'checkpoint-write' | 'checkpoint-saved' | 'prune' | 'eval' | 'eval-done' | 'summary';

const POINTS: readonly FaultPoint[] = ['step', 'epoch-end', 'checkpoint-write', 'checkpoint-saved', 'prune', 'eval', 'eval-done', 'summary'];

/** Parses the variable; throws on a malformed one, so a typo in the suite cannot pass silently. */
export function parseFaultSpec(spec: string): Map<FaultPoint, number> {
  const targets = new Map<FaultPoint, number>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z-]+):(\d+)$/.exec(part);
    if (!m || !POINTS.includes(m[1] as FaultPoint) || Number(m[2]) < 1) {
      throw new Error(`SUPCON_FAULT_KILL_AT: expected <point>:<n> with n >= 1 and point one of ${POINTS.join(', ')}, got '${part}'`);
    }
    targets.set(m[1] as FaultPoint, Number(m[2]));
  }
  return targets;
}

function createFaultPoint(spec: string): (point: FaultPoint) => void {
  const targets = parseFaultSpec(spec);
  const counts = new Map<FaultPoint, number>();
  return (point) => {
    const n = (counts.get(point) ?? 0) + 1;
    counts.set(point, n);
    if (targets.get(point) === n) process.kill(process.pid, 'SIGKILL');
  };
}

const spec = typeof process !== 'undefined' ? process.env?.SUPCON_FAULT_KILL_AT : undefined;

/** Defined only when SUPCON_FAULT_KILL_AT is set: counts `point` and kills the process at its n-th time. */
export const faultPoint: ((point: FaultPoint) => void) | undefined = spec ? createFaultPoint(spec) : undefined;
