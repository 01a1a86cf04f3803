/**
 * `supcon train`, `eval`, `report` and `compare`: thin commander wrappers over ../train and
 * ../report. `deps` supplies the built-in plugins, their defaults and the backend starter, so
 * tests can pass their own.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { RUN_FILE, RUN_FILES, latestCheckpoint, runFileError, writeFileAtomic } from '@supcon/core';
import type { Plugin, ResolveOptions } from '@supcon/core';
import { compareGroups, compareRuns, formatCompareTable, formatGroupTable, readRun, renderComparePage, renderGroupComparePage, renderReport, writeHtmlFile } from '../report';
import { evalRun, train } from '../train/run';
import type { BackendStarter } from '../train/run';

export interface RunCommandDeps {
  plugins: readonly Plugin[];
  defaults?: ResolveOptions['defaults'];
  startBackend: BackendStarter;
  /** Where normal output goes (default stdout). */
  print?: (line: string) => void;
}

/**
 * Writes `report.html` into a run folder (or `file`) atomically: a failed write leaves the previous
 * report as it was, and its error names the file and the run's last checkpoint. Returns its path.
 */
export async function writeReport(runDir: string, file?: string): Promise<string> {
  const target = file ?? path.join(runDir, RUN_FILE.report);
  const html = renderReport(readRun(runDir));
  try {
    await writeFileAtomic(target, html);
  } catch (error) {
    throw runFileError(error, await latestCheckpoint(runDir).catch(() => undefined));
  }
  return target;
}

export function registerRunCommands(program: Command, deps: RunCommandDeps): void {
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));

  program
    .command('train')
    .description('train an encoder as the config says (SupCon, SimCLR, cross-entropy, triplet, N-pair), evaluate it and write a report')
    .requiredOption('-c, --config <file>', 'supcon.config.ts|.mjs|.js|.json|.yaml')
    .option('-o, --out <dir>', 'run folder (default: the config\'s `out`)')
    .addOption(
      new Option('--resume', "continue from the run folder's last checkpoint; the config must be the run's (train.epochs may grow; out, threads, name and checkpoint may differ)").conflicts(
        'overwrite',
      ),
    )
    .option('--overwrite', `start again in a folder that holds a run or other files: removes only the files a run writes (${RUN_FILES.join(', ')}), keeps every other file`)
    .option('--no-report', 'do not write report.html at the end')
    .option('--log-interval <seconds>', 'seconds between progress lines when not a TTY', '30')
    .action(async (opts: { config: string; out?: string; resume?: boolean; overwrite?: boolean; report: boolean; logInterval: string }) => {
      const { runDir, summary } = await train({
        config: opts.config,
        plugins: deps.plugins,
        defaults: deps.defaults,
        startBackend: deps.startBackend,
        out: opts.out,
        resume: opts.resume,
        overwrite: opts.overwrite,
        progress: { intervalSeconds: Number(opts.logInterval) },
      });
      const top1 = (key: string) => {
        const v = (summary[key] as { top1?: number } | undefined)?.top1;
        return typeof v === 'number' ? `${(100 * v).toFixed(2)}%` : '–';
      };
      print(`run: ${runDir}`);
      print(`linear probe top-1 ${top1('linearProbe')}, kNN top-1 ${top1('knn')}, ${Number(summary.imagesPerSecond ?? 0).toFixed(1)} images/s on ${String(summary.backend)}`);
      if (opts.report) print(`report: ${await writeReport(runDir)}`);
    });

  program
    .command('eval')
    .description("re-run the config's evaluators on a run's last checkpoint and update its summary.json")
    .requiredOption('-r, --run <dir>', 'run folder written by `supcon train`')
    .action(async (opts: { run: string }) => {
      const { runDir, summary } = await evalRun({ runDir: opts.run, plugins: deps.plugins, defaults: deps.defaults, startBackend: deps.startBackend });
      print(`updated ${path.join(runDir, 'summary.json')}`);
      for (const key of Object.keys((summary.eval as object) ?? {})) {
        const v = (summary[key] as { top1?: number; meanError?: number } | undefined) ?? {};
        print(`  ${key}: ${v.top1 !== undefined ? `top-1 ${(100 * v.top1).toFixed(2)}%` : v.meanError !== undefined ? `mean error ${(100 * v.meanError).toFixed(2)}%` : 'done'}`);
      }
    });

  program
    .command('report')
    .description('write a self-contained HTML report of a run (curves, embedding map, per-class accuracy, confusion matrix, config)')
    .requiredOption('-r, --run <dir>', 'run folder written by `supcon train`')
    .option('-o, --out <file>', 'HTML file (default: <run>/report.html)')
    .action(async (opts: { run: string; out?: string }) => {
      print(await writeReport(opts.run, opts.out));
    });

  program
    .command('compare')
    .description(
      'print runs side by side: loss, linear-probe top-1, kNN top-1, corruption error, mCE (relative to the cross-entropy run, else the first), time; ' +
        'with --group, one row per group of runs (seeds) as mean ± std',
    )
    .argument('[dirs...]', 'run folders')
    .option('--baseline <dir>', 'run whose corruption errors define mCE = 100 (with --group: a run of the baseline group)')
    .option('-g, --group <dirs>', 'comma-separated run folders compared as one group (repeat for each group)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--json', 'print JSON rows instead of a table')
    .option('--html <file>', 'also write a self-contained HTML comparison: the table and the runs\' curves overlaid (loss and monitor accuracy per epoch); an existing file is kept unless --overwrite')
    .option('--overwrite', 'with --html: replace the file if it exists')
    .action(async (dirs: string[], opts: { baseline?: string; group?: string[]; json?: boolean; html?: string; overwrite?: boolean }) => {
      if (opts.group && dirs.length) throw new Error('compare: give run folders either as arguments or as --group lists, not both');
      if (!opts.group && dirs.length === 0) throw new Error('compare: name at least one run folder (or --group a,b,c)');
      if (opts.overwrite && !opts.html) throw new Error('compare: --overwrite only applies with --html FILE');
      if (opts.html && !opts.overwrite && existsSync(opts.html)) throw new Error(`compare: ${opts.html} exists: pass --overwrite to replace it`);
      const writeHtml = async (html: () => string) => {
        if (!opts.html) return;
        await writeHtmlFile(opts.html, html(), { overwrite: opts.overwrite });
        if (!opts.json) print(`html: ${opts.html}`);
      };
      const groupDirs = opts.group?.map((g) => g.split(',').map((d) => d.trim()).filter(Boolean)) ?? [];
      for (const dir of [...dirs, ...groupDirs.flat()]) if (!existsSync(dir)) throw new Error(`compare: no such run folder: ${dir}`);
      if (opts.group) {
        const groups = groupDirs.map((g) => g.map((dir) => readRun(dir)));
        const baselineIndex = opts.baseline ? groupDirs.findIndex((g) => g.some((d) => path.resolve(d) === path.resolve(opts.baseline!))) : undefined;
        if (baselineIndex === -1) throw new Error(`compare: --baseline ${opts.baseline} must be one of the runs compared`);
        const rows = compareGroups(groups, baselineIndex);
        print(opts.json ? JSON.stringify(rows, null, 2) : formatGroupTable(rows));
        await writeHtml(() => renderGroupComparePage(groups, rows, baselineIndex));
        return;
      }
      const runs = dirs.map((dir) => readRun(dir));
      const baselineIndex = opts.baseline ? dirs.map((d) => path.resolve(d)).indexOf(path.resolve(opts.baseline)) : undefined;
      if (baselineIndex === -1) throw new Error(`compare: --baseline ${opts.baseline} must be one of the runs compared`);
      const rows = compareRuns(runs, baselineIndex);
      print(opts.json ? JSON.stringify(rows, null, 2) : formatCompareTable(rows));
      await writeHtml(() => renderComparePage(runs, rows, baselineIndex));
    });
}
