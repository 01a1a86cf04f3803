/**
 * The Node options a worker thread gets: the process's own, less those that only make sense for
 * the main script. Node gives a worker its parent's options, and a parent started as
 * `node --input-type=module -e "..."` (a one-liner, or a script on stdin) would hand the worker
 * `--input-type`, which Node refuses for a worker started from a file: the worker dies before it
 * runs, and a pool waiting for it waits forever.
 */
const MAIN_SCRIPT_ONLY = /^--input-type(=|$)/;
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);

export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (WITH_VALUE.has(arg)) {
      i++; // and its value
      continue;
    }
    if (MAIN_SCRIPT_ONLY.test(arg) || /^(--eval|--print)=/.test(arg) || arg === '-pe') continue;
    kept.push(arg);
  }
  return kept;
}
