/**
 * The one table of human labels for the metric keys that runs write (metrics.jsonl, summary.json)
 * and the columns `supcon compare` shows. Every chart (series names, axis names) and every table
 * of `supcon report` and `supcon compare --html` takes its labels from here.
 */

export interface MetricLabel {
  /** What a reader sees: `20-NN top-1 (monitor)`, `learning rate`. */
  label: string;
  /** A fraction in [0, 1], shown as a percentage (on a 0–100 axis). */
  fraction?: boolean;
  /** The unit shown after the label on an axis or a column, `(s)`; fractions get `(%)`. */
  unit?: string;
  /** Decimals when shown as text (after scaling to percent for fractions). */
  digits?: number;
}

/** Keys as runs write them; dotted paths are summary.json paths (`linearProbe.top1`). */
export const METRIC_LABELS: Readonly<Record<string, MetricLabel>> = {
  // metrics.jsonl, per step and per epoch
  loss: { label: 'loss', digits: 4 },
  stepLoss: { label: 'loss per step', digits: 4 },
  epochLoss: { label: 'epoch mean loss', digits: 4 },
  lr: { label: 'learning rate' },
  gradNorm: { label: 'gradient norm', digits: 3 },
  imagesPerSecond: { label: 'images / s', digits: 1 },
  monitorKnnTop1: { label: '20-NN top-1 (monitor)', fraction: true, digits: 2 },
  seconds: { label: 'epoch time', unit: 's', digits: 0 },
  steps: { label: 'steps', digits: 0 },
  epoch: { label: 'epoch', digits: 0 },
  globalStep: { label: 'step', digits: 0 },
  // summary.json
  name: { label: 'name' },
  stage: { label: 'stage' },
  lossFunction: { label: 'loss function' },
  backend: { label: 'backend' },
  threads: { label: 'threads', digits: 0 },
  seed: { label: 'seed', digits: 0 },
  epochs: { label: 'epochs', digits: 0 },
  trainSize: { label: 'training images', digits: 0 },
  testSize: { label: 'test images', digits: 0 },
  encoderParameters: { label: 'encoder parameters', digits: 0 },
  finalLoss: { label: 'final loss', digits: 4 },
  'linearProbe.top1': { label: 'linear probe top-1', fraction: true, digits: 2 },
  'linearProbe.top5': { label: 'linear probe top-5', fraction: true, digits: 2 },
  'linearProbe.trainTop1': { label: 'linear probe top-1 (training set)', fraction: true, digits: 2 },
  'linearProbe.perClassAccuracy': { label: 'linear probe top-1 per class', fraction: true, digits: 1 },
  'knn.top1': { label: 'kNN top-1', fraction: true, digits: 2 },
  'knn.top5': { label: 'kNN top-5', fraction: true, digits: 2 },
  'corruption.cleanError': { label: 'clean error', fraction: true, digits: 2 },
  'corruption.meanError': { label: 'mean corruption error', fraction: true, digits: 2 },
  'corruption.error': { label: 'error (mean over severities)', fraction: true, digits: 1 },
  wallTimeSeconds: { label: 'wall time', unit: 's', digits: 0 },
  // the confusion matrix
  predictedClass: { label: 'predicted class' },
  trueClass: { label: 'true class' },
  images: { label: 'test images', digits: 0 },
  // `supcon compare`
  run: { label: 'run' },
  runs: { label: 'runs', digits: 0 },
  meanCorruptionError: { label: 'mean corruption error', fraction: true, digits: 2 },
  linearProbeTop1: { label: 'linear probe top-1', fraction: true, digits: 2 },
  knnTop1: { label: 'kNN top-1', fraction: true, digits: 2 },
  mCE: { label: 'mCE (baseline = 100)', digits: 1 },
};

/** `fooBarTop1` → `foo bar top-1`, for keys the table does not know. */
function humanize(key: string): string {
  const last = key.split('.').pop() ?? key;
  return last
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Za-z])(\d+)/g, '$1-$2')
    .toLowerCase();
}

/** The table's entry for `key`, or one made up from it (fractions guessed from `top1`, `accuracy`, `error`). */
export function metricInfo(key: string): MetricLabel {
  return METRIC_LABELS[key] ?? { label: humanize(key), fraction: /top-?\d|accuracy|error/i.test(key), digits: 4 };
}

/** The human label of a metric key: `monitorKnnTop1` → `20-NN top-1 (monitor)`. */
export function labelOf(key: string): string {
  return metricInfo(key).label;
}

/** Whether `key` is a fraction shown as a percentage. */
export function isFraction(key: string): boolean {
  return metricInfo(key).fraction === true;
}

/** Label with its unit, for an axis or a column head: `wall time (s)`, `linear probe top-1 (%)`. */
export function labelWithUnit(key: string): string {
  const info = metricInfo(key);
  const unit = info.fraction ? '%' : info.unit;
  if (!unit) return info.label;
  // `20-NN top-1 (monitor)` → `20-NN top-1 (monitor, %)`, not two brackets in a row.
  return info.label.endsWith(')') ? `${info.label.slice(0, -1)}, ${unit})` : `${info.label} (${unit})`;
}

/** The kNN evaluator's label with its k when the summary has it (`20-NN top-1`). */
export function knnLabel(k: unknown, which: 'top1' | 'top5' = 'top1'): string {
  const base = labelOf(`knn.${which}`);
  return typeof k === 'number' && Number.isInteger(k) ? base.replace('kNN', `${k}-NN`) : base;
}

/** A value as the axis/column shows it: fractions ×100, then `digits` decimals (no unit). */
export function formatNumber(key: string, value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  const info = metricInfo(key);
  const scaled = info.fraction ? 100 * value : value;
  if (info.digits !== undefined) return scaled.toFixed(info.digits);
  return Math.abs(scaled) >= 1e-3 || scaled === 0 ? String(Number(scaled.toPrecision(4))) : scaled.toExponential(2);
}

/** A value for a table cell with its unit: `80.00%`, `42 s`, `1.2500`. */
export function formatValue(key: string, value: number | undefined): string {
  const text = formatNumber(key, value);
  if (text === '–') return text;
  const info = metricInfo(key);
  return info.fraction ? `${text}%` : info.unit ? `${text} ${info.unit}` : text;
}

/** A value as a chart stores it: fractions in percent (0–100), rounded so the page stays small. */
export function chartValue(key: string, value: number): number {
  const scaled = isFraction(key) ? 100 * value : value;
  return Number(scaled.toPrecision(6));
}
