import { SingleBar } from 'cli-progress';
import type { RunnerContext, RunnerHooks } from '@supcon/core';

export interface ProgressOptions {
  /** Draw a bar (default: when stderr is a TTY). Otherwise log a line every `intervalSeconds`. */
  tty?: boolean;
  intervalSeconds?: number;
  write?: (line: string) => void;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Progress for `supcon train`: a bar per epoch with step, loss, images/s and ETA of the run when
 * stderr is a TTY; otherwise quiet, with one log line every `intervalSeconds` and one per epoch.
 */
export function progressHooks(options: ProgressOptions = {}): RunnerHooks<RunnerContext> {
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const interval = (options.intervalSeconds ?? 30) * 1000;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  let bar: SingleBar | undefined;
  let barStarted = false;
  let runStart = 0;
  let stepsDone = 0;
  let images = 0;
  let lastLog = 0;
  let epochs = 0;

  return {
    beforeRun(context) {
      runStart = Date.now();
      lastLog = runStart;
      epochs = context.config.train.epochs;
    },
    beforeEpoch(_context, epoch) {
      if (tty) {
        barStarted = false;
        bar = new SingleBar(
          {
            format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} loss {loss} | {ips} img/s | ETA {eta_run}`,
            hideCursor: true,
            clearOnComplete: false,
            stream: process.stderr,
          },
        );
      }
    },
    afterStep(_context, step) {
      stepsDone++;
      images += step.batchSize;
      const elapsed = (Date.now() - runStart) / 1000;
      const perStep = elapsed / stepsDone;
      const totalSteps = (step as { totalSteps?: number }).totalSteps ?? step.globalStep + 1;
      const stepsPerEpoch = (step as { stepsPerEpoch?: number }).stepsPerEpoch ?? step.step + 1;
      const eta = formatSeconds(perStep * (totalSteps - step.globalStep - 1));
      const ips = (images / elapsed).toFixed(1);
      if (bar) {
        // On the epoch's first step here: step 0, or later after a resume from a mid-epoch checkpoint.
        if (!barStarted) bar.start(stepsPerEpoch, step.step, { loss: '-', ips: '-', eta_run: '?' });
        barStarted = true;
        bar.update(step.step + 1, { loss: step.loss.toFixed(4), ips, eta_run: eta });
      } else if (Date.now() - lastLog >= interval) {
        lastLog = Date.now();
        write(`epoch ${step.epoch + 1}/${epochs} step ${step.step + 1}/${stepsPerEpoch} loss ${step.loss.toFixed(4)} ${ips} img/s ETA ${eta}`);
      }
    },
    afterEpoch(_context, epoch, metrics) {
      bar?.stop();
      bar = undefined;
      write(`epoch ${epoch + 1}/${epochs} done: loss ${metrics.loss.toFixed(4)} in ${formatSeconds(metrics.seconds)}`);
    },
    onError() {
      bar?.stop();
    },
  };
}
