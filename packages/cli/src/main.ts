/**
 * The `supcon` command line. `main(argv)` runs one command and resolves to its exit code
 * (0 ok, 1 error, 2 invalid config), so tests call it in-process.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SupconConfigError } from '@supcon/core';
import { initBackend } from '@supcon/backends';
import { builtinDefaults, builtinPlugins } from '@supcon/train';
import { registerConfigCommands } from './commands/config-commands';
import { registerDoctorCommand } from './commands/doctor';
import { registerRunCommands } from './commands/run-commands';
import { registerDemoCommand } from './commands/demo';
import { registerDownloadCommand, withDownloadPrompt } from './commands/download';
import { registerExportCommand } from './commands/export';
import { registerSweepCommand } from './commands/sweep';
import { registerWorkerCommand } from './commands/worker';
import { datasetLocations } from './datasets';
import { threadCount } from './threads';


export interface MainIo {
  print?: (line: string) => void;
  printError?: (line: string) => void;
}

export const VERSION = '0.1.0';

/** `--log-interval abc` is a commander error naming the option, not a NaN interval. */
function checkNumericOptions(program: Command): void {
  const option = program.commands.find((c) => c.name() === 'train')?.options.find((o) => o.long === '--log-interval');
  option?.argParser((value: string) => {
    const seconds = Number(value);
    if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError('expected a number of seconds >= 0.');
    return value;
  });
}

/** Runs `supcon ...argv` (argv without the node and script paths). */
export async function main(argv: readonly string[], io: MainIo = {}): Promise<number> {
  const print = io.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = io.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  let exitCode = 0;
  const program = new Command('supcon')
    .description('Supervised Contrastive Learning for TensorFlow.js: train, evaluate and compare image encoders')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => print(s.replace(/\n$/, '')), writeErr: (s) => printError(s.replace(/\n$/, '')) })
    .showHelpAfterError();
  const deps = {
    plugins: withDownloadPrompt(builtinPlugins),
    defaults: builtinDefaults,
    // threads 'auto' falls back to one thread (with a warning) if the threaded wasm build cannot
    // start; an explicit count that cannot be honoured is an error.
    startBackend: (name: Parameters<typeof initBackend>[0], threads?: number | 'auto') =>
      initBackend(name, {
        threads: threadCount(threads),
        ...(typeof threads === 'number' ? {} : { onThreadsFallback: (reason: string) => printError(`warning: ${reason}; continuing on one thread`) }),
      }),
    print,
    printError,
    setExitCode: (code: number) => {
      exitCode = code;
    },
  };
  registerConfigCommands(program, deps);
  registerDoctorCommand(program, { print, printError, datasets: datasetLocations, setExitCode: deps.setExitCode });
  registerRunCommands(program, deps);
  checkNumericOptions(program);
  registerDemoCommand(program, deps);
  registerDownloadCommand(program, { print });
  registerExportCommand(program, deps);
  registerSweepCommand(program, deps);
  registerWorkerCommand(program, deps);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: (s) => print(s.replace(/\n$/, '')), writeErr: (s) => printError(s.replace(/\n$/, '')) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : error.code === 'commander.help' ? 0 : 1;
    if (error instanceof SupconConfigError) {
      printError(error.message);
      return 2;
    }
    printError(`supcon: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.SUPCON_DEBUG && error instanceof Error && error.stack) printError(error.stack);
    return 1;
  }
}
