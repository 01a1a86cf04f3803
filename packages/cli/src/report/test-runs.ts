/**
 * Test fixtures (used by the report tests only): run folders as `supcon train` writes them, and
 * helpers that read back what a generated page embeds, without the code that generated it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeRun {
  stage?: 'supcon' | 'ce';
  loss?: string;
  top1?: number;
  knn?: number;
  errors?: Record<string, number>;
  /** Per-epoch mean losses; the run logs two steps per epoch around each. */
  epochLosses?: number[];
  /** Per-epoch 20-NN monitor accuracies (fractions). */
  monitor?: number[];
  confusion?: number[][];
  wallTimeSeconds?: number;
  /** Append a torn line, as a SIGKILL mid-write leaves. */
  torn?: boolean;
}

export const CLASSES = ['T-shirt', 'Trouser', 'Pullover'];

/** Writes a finished run folder and returns its path. */
export function makeRun(options: FakeRun = {}): string {
  const stage = options.stage ?? 'supcon';
  const loss = options.loss ?? (stage === 'ce' ? 'cross-entropy' : 'supcon-out');
  const errors = options.errors ?? { noise: 0.3, blur: 0.2 };
  const epochLosses = options.epochLosses ?? [2.25, 1.25];
  const monitor = options.monitor ?? epochLosses.map((_, i) => 0.6 + 0.1 * i);
  const dir = mkdtempSync(join(tmpdir(), `supcon-report-${loss}-`));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: `run-${loss}`, loss: { type: loss, temperature: 0.1 }, train: { epochs: epochLosses.length } }));
  const metrics: Record<string, unknown>[] = [];
  epochLosses.forEach((mean, epoch) => {
    for (let step = 0; step < 2; step++) {
      metrics.push({ kind: 'step', epoch, step, globalStep: 2 * epoch + step, loss: mean + (step === 0 ? 0.25 : -0.25), gradNorm: 1.5 - 0.1 * epoch - 0.05 * step, lr: 0.05 * (1 - (2 * epoch + step) / (2 * epochLosses.length)) });
    }
    metrics.push({ kind: 'epoch', epoch, loss: mean, steps: 2, seconds: 10 + epoch, lr: 0.05, imagesPerSecond: 100 + 10 * epoch, monitorKnnTop1: monitor[epoch] });
  });
  metrics.push({ kind: 'eval', linearProbe: { top1: options.top1 ?? 0.8 } });
  writeFileSync(join(dir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m)).join('\n') + (options.torn ? '\n{"kind":"st' : '\n'));
  const confusion = options.confusion ?? [
    [9, 1, 0],
    [1, 8, 1],
    [2, 3, 7],
  ];
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify({
      name: `run-${loss}`,
      stage,
      seed: 0,
      backend: 'cpu',
      threads: 1,
      epochs: epochLosses.length,
      steps: 2 * epochLosses.length,
      trainSize: 60,
      testSize: 30,
      encoderParameters: 93344,
      finalLoss: epochLosses.at(-1),
      imagesPerSecond: 123.4,
      wallTimeSeconds: options.wallTimeSeconds ?? 42,
      classes: CLASSES,
      linearProbe: { top1: options.top1 ?? 0.8, top5: 1, perClassAccuracy: [0.9, 0.8, 0.7], confusionMatrix: confusion },
      knn: { top1: options.knn ?? 0.7, top5: 1, k: 20 },
      corruption: {
        cleanError: 0.1,
        meanError: Object.values(errors).reduce((a, b) => a + b, 0) / Object.keys(errors).length,
        corruptions: Object.fromEntries(Object.entries(errors).map(([k, e]) => [k, { error: e, perSeverity: [e, e, e] }])),
      },
    }),
  );
  writeFileSync(join(dir, 'embedding-map.json'), JSON.stringify({ method: 'PCA', points: [[0, 0], [1, 1], [5, 5], [6, 5], [-3, 2], [-4, 2]], labels: [0, 0, 1, 1, 2, 2] }));
  return dir;
}

/** A parsed chart option, walked freely by the tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ParsedOption = Record<string, any>;

/** Every `<script type="application/json">` chart option of a page, by its chart element's id, JSON.parse'd. */
export function embeddedOptions(html: string): Record<string, ParsedOption> {
  const out: Record<string, ParsedOption> = {};
  const re = /<script type="application\/json"[^>]*data-chart="([^"]+)"[^>]*>([\s\S]*?)<\/script>/g;
  for (const m of html.matchAll(re)) out[m[1]] = JSON.parse(m[2]);
  return out;
}

/** `x` or `[x]` as an array. */
export function list<T>(x: T | T[] | undefined): T[] {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

export interface Cell {
  key: string;
  value: unknown;
  text: string;
}

/** The body rows of the page's `<table class="compare">`, cell by cell. */
export function compareTableRows(html: string): Cell[][] {
  const table = /<table class="compare">([\s\S]*?)<\/table>/.exec(html);
  if (!table) throw new Error('no compare table');
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table[1])![1];
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<td[^>]*data-key="([^"]*)" data-value="([^"]*)">([\s\S]*?)<\/td>/g)].map((c) => ({ key: c[1], value: JSON.parse(unescapeHtml(c[2])), text: unescapeHtml(c[3]) })),
  );
}

/** The page's compare-table column heads. */
export function compareTableHeads(html: string): string[] {
  const head = /<table class="compare"><thead>([\s\S]*?)<\/thead>/.exec(html)![1];
  return [...head.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => unescapeHtml(m[1]));
}

/** The epoch lines of a metrics.jsonl file, read directly. */
export function epochLossesOf(metricsJsonl: string, key = 'loss'): [number, number][] {
  return metricsJsonl
    .split('\n')
    .filter((l) => l.trim() && l.trim().endsWith('}'))
    .map((l) => JSON.parse(l) as Record<string, number | string>)
    .filter((m) => m.kind === 'epoch' && typeof m[key] === 'number')
    .map((m) => [(m.epoch as number) + 1, m[key] as number]);
}
