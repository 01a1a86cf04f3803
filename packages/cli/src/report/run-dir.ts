import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One line of a run's metrics.jsonl (written by @supcon/core's runner): `kind` is 'step', 'epoch', 'eval' or 'custom'. */
export interface MetricLine {
  kind?: string;
  epoch?: number;
  step?: number;
  globalStep?: number;
  loss?: number;
  [key: string]: unknown;
}

/** The 2-D map of test embeddings saved by the runner (`embedding-map.json`). */
export interface EmbeddingMap {
  /** `[x, y]` per point (PCA of the encoder's test features). */
  points: [number, number][];
  labels: number[];
  method?: string;
}

/** Everything `supcon report` and `supcon compare` read from a run directory. */
export interface RunArtifacts {
  dir: string;
  config: Record<string, unknown>;
  summary: Record<string, unknown>;
  metrics: MetricLine[];
  embeddingMap?: EmbeddingMap;
}

function readJson(path: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** Reads a run directory written by `supcon train`. Throws naming the missing file. */
export function readRun(dir: string): RunArtifacts {
  const summaryPath = join(dir, 'summary.json');
  if (!existsSync(summaryPath)) {
    throw new Error(`${dir} is not a finished run: ${summaryPath} is missing (run \`supcon train\` first, or \`supcon eval --run ${dir}\`)`);
  }
  const summary = readJson(summaryPath, 'summary');
  const configPath = join(dir, 'config.json');
  const config = existsSync(configPath) ? readJson(configPath, 'config') : {};
  const metricsPath = join(dir, 'metrics.jsonl');
  const metrics: MetricLine[] = [];
  if (existsSync(metricsPath)) {
    const lines = readFileSync(metricsPath, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        metrics.push(JSON.parse(line) as MetricLine);
      } catch {
        // A run killed mid-write may leave a torn last line: skip only that one.
        if (i < lines.length - 2) throw new Error(`${metricsPath}:${i + 1}: not valid JSON`);
      }
    });
  }
  const mapPath = join(dir, 'embedding-map.json');
  const embeddingMap = existsSync(mapPath) ? (readJson(mapPath, 'embedding map') as unknown as EmbeddingMap) : undefined;
  return { dir, config, summary, metrics, embeddingMap };
}

/** Reads a numeric value at a dotted path (`linearProbe.top1`), or undefined. */
export function numberAt(record: Record<string, unknown>, path: string): number | undefined {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

