/**
 * `supcon demo`: the README's main job. Trains SupCon and the cross-entropy baseline with the
 * same encoder, augmentation and epochs on the Fashion-MNIST sample shipped in @supcon/data,
 * evaluates both (linear probe, kNN, corruptions), writes their reports and prints the comparison.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { compareRuns, formatCompareTable, readRun } from '../report';
import { train } from '../train/run';
import type { RunCommandDeps } from './run-commands';
import { writeReport } from './run-commands';

/** The demo's two configs; `epochs` and `out` are filled per run. */
export function demoConfigs(options: { epochs: number; out: string; backend: string }): Record<string, unknown>[] {
  const common = {
    seed: 0,
    backend: options.backend,
    data: { type: 'fashion-mnist-sample' },
    backbone: { type: 'small-cnn', channels: [16, 32, 64] },
    augment: { type: 'simclr', scale: [0.5, 1], colorJitter: false, grayscaleProbability: 0 },
    sampler: { type: 'random', dropLast: true },
    schedule: { type: 'cosine', warmupEpochs: 0 },
    eval: [
      { type: 'linear-probe' },
      { type: 'knn', k: 20 },
      { type: 'corruption', maxImages: 500, severities: [1, 3, 5] },
    ],
  };
  return [
    {
      ...common,
      name: 'supcon',
      head: { type: 'mlp', dim: 64 },
      loss: { type: 'supcon-out', temperature: 0.1 },
      optimizer: { type: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4 },
      train: { epochs: options.epochs, batchSize: 128, views: 2 },
      out: path.join(options.out, 'supcon'),
    },
    {
      ...common,
      name: 'cross-entropy',
      loss: { type: 'cross-entropy' },
      optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4 },
      train: { epochs: options.epochs, batchSize: 128, views: 1 },
      out: path.join(options.out, 'cross-entropy'),
    },
  ];
}

export function registerDemoCommand(program: Command, deps: RunCommandDeps): void {
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  program
    .command('demo')
    .description('train SupCon and the cross-entropy baseline on the shipped Fashion-MNIST sample, print the comparison and write reports')
    .option('-o, --out <dir>', 'folder for the two runs', 'runs/demo')
    .option('-e, --epochs <n>', 'epochs of each run', '4')
    .option('-b, --backend <name>', 'tfjs backend', 'auto')
    .action(async (opts: { out: string; epochs: string; backend: string }) => {
      const epochs = Number(opts.epochs);
      if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs: expected a positive integer, got ${opts.epochs}`);
      const runs: string[] = [];
      for (const config of demoConfigs({ epochs, out: opts.out, backend: opts.backend })) {
        print(`\n== ${String(config.name)}: ${epochs} epochs ==`);
        // The demo's own folders: running it again replaces its runs (only the files a run writes).
        const { runDir } = await train({ config, plugins: deps.plugins, defaults: deps.defaults, startBackend: deps.startBackend, overwrite: true });
        print(`report: ${await writeReport(runDir)}`);
        runs.push(runDir);
      }
      print('\n' + formatCompareTable(compareRuns(runs.map((dir) => readRun(dir)))));
      print(`\nreports: ${runs.map((dir) => path.join(dir, 'report.html')).join(', ')}`);
    });
}
