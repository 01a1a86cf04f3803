/**
 * `supcon export`: a thin shell over `exportEncoder` of @supcon/train. Writes a run's encoder
 * (optionally with its head) as a standard tfjs-layers model (model.json + weight shards) and
 * supcon.json, for `tf.loadLayersModel` in any app or `loadEncoder`.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Plugin, ResolveOptions } from '@supcon/core';
import { exportEncoder } from '@supcon/train';
import type { BackendStarter } from '@supcon/train';

export interface ExportCommandDeps {
  plugins: readonly Plugin[];
  defaults?: ResolveOptions['defaults'];
  startBackend: BackendStarter;
  print?: (line: string) => void;
  printError?: (line: string) => void;
}

export function registerExportCommand(program: Command, deps: ExportCommandDeps): void {
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = deps.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  program
    .command('export')
    .description("write a run's trained encoder as a tfjs-layers model (model.json + weight shards) with supcon.json (input shape, normalisation, classes, config), loadable by tf.loadLayersModel")
    .requiredOption('-r, --run <dir>', 'run folder written by `supcon train` (or one of its checkpoint folders)')
    .requiredOption('-o, --out <dir>', 'folder to write; must be missing or empty unless --overwrite')
    .option('--with-head', 'export encoder + projection head (cross-entropy runs: + the classifier, giving logits)')
    .option('--checkpoint <name>', "checkpoint to export, e.g. epoch-0003 (default: the run's latest)")
    .option('--overwrite', 'replace an earlier export in --out: removes only the files an export writes (model.json, supcon.json, group*-shard*.bin), keeps every other file')
    .action(async (opts: { run: string; out: string; withHead?: boolean; checkpoint?: string; overwrite?: boolean }) => {
      const isDir = (() => {
        try {
          return statSync(opts.run).isDirectory();
        } catch {
          return false;
        }
      })();
      if (!isDir) throw new Error(`export: no such run folder: ${opts.run}`);
      const { out, files, metadata } = await exportEncoder(opts.run, opts.out, {
        withHead: opts.withHead === true,
        checkpoint: opts.checkpoint,
        overwrite: opts.overwrite === true,
        plugins: deps.plugins,
        defaults: deps.defaults ?? {},
        startBackend: deps.startBackend,
        logger: { info: () => undefined, warn: printError },
      });
      const what = metadata.withHead ? (metadata.output === 'logits' ? 'encoder + classifier' : 'encoder + head') : 'encoder';
      print(`exported the ${what} of ${path.resolve(opts.run)} (${metadata.checkpoint}, ${metadata.stage}) to ${out}:`);
      for (const file of files) print(`  ${file}`);
      print(
        `input [${metadata.inputShape.join(', ')}] (${metadata.normalization}) -> ${metadata.output} [${metadata.featureDim}]; ${metadata.classes.length} classes; ` +
          `checked on ${metadata.verified.images} test images (max |difference| ${metadata.verified.maxAbsDifference})`,
      );
    });
}
