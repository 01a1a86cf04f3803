/**
 * Multi-label datasets: the `file,labels` CSV format, the dataset type that carries multi-hot
 * labels beside the single-label projection, and batches of multi-hot labels as tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '@supcon/core';

/**
 * An ImageDataset whose images may each have several labels. It is an ImageDataset (every
 * sampler, evaluator and `subset` takes it as one) with one more field:
 *
 * - `multiLabels`: uint8 multi-hot rows, `size * classes.length` values, row-major:
 *   `multiLabels[i * classes.length + c]` is 1 when image `i` has class `c`, else 0.
 * - `labels`: the single-label projection, the class of the **first label listed** for the
 *   image (in the CSV's order, not the sorted class order), so that code that needs one class
 *   per image (stratified subsets, samplers, kNN and linear-probe evaluators) keeps working.
 *
 * `classes` are the sorted distinct labels (or the ones passed in). The `[B, C]` multi-hot labels
 * that `supConLoss` takes with `multiLabel: 'any' | 'jaccard'` come from `multiHotBatch`.
 */
export interface MultiLabelImageDataset extends ImageDataset {
  labels: Int32Array;
  multiLabels: Uint8Array;
}

/** Whether `dataset` carries multi-hot labels (`multiLabels` of `size * classes.length` values). */
export function isMultiLabel(dataset: ImageDataset): dataset is MultiLabelImageDataset {
  const m = (dataset as Partial<MultiLabelImageDataset>).multiLabels;
  return m instanceof Uint8Array && m.length === dataset.size * dataset.classes.length;
}

/** What `parseMultiLabelCsv` reads: one entry per data row, in the CSV's order. */
export interface MultiLabelCsv {
  /** The `file` column, as written (paths relative to the dataset root). */
  files: string[];
  /** The 1-based line of each row, for error messages about its file. */
  lines: number[];
  /** Sorted distinct labels, or the `classes` passed in. */
  classes: string[];
  /** Multi-hot rows, `files.length * classes.length`, row-major. */
  multiLabels: Uint8Array;
  /** The class index of each row's first listed label. */
  labels: Int32Array;
}

export interface MultiLabelCsvOptions {
  /** The name used in error messages (`file:line:column: ...`); default `<csv>`. */
  file?: string;
  /** The classes, in this order: a label not among them is an error. Default: the sorted labels of the CSV. */
  classes?: readonly string[];
}

interface Field {
  value: string;
  column: number;
}

/** Splits one CSV line into fields (RFC 4180 double quotes, no line breaks inside quotes). */
function splitLine(text: string, where: (column: number) => string): Field[] {
  const fields: Field[] = [];
  let i = 0;
  for (;;) {
    const column = i + 1;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`${where(column)}: unterminated quoted field`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      if (i < text.length && text[i] !== ',') throw new Error(`${where(i + 1)}: expected ',' after the closing quote`);
    } else {
      const end = text.indexOf(',', i);
      value = text.slice(i, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end;
    }
    fields.push({ value, column });
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

/**
 * Parses a multi-label CSV: a header `file,labels`, then one row per image, `file` a path relative
 * to the dataset root and `labels` one or more class names separated by `;` or `|` (spaces around
 * names are trimmed; quote the field if a name holds a comma). Blank lines are skipped; a UTF-8 BOM
 * and CRLF line ends are accepted. Errors name `file:line:column`: a header other than
 * `file,labels`, a row without exactly two fields, an empty file name, an empty label (an empty
 * field or two separators in a row), a label listed twice in a row, a label not in `classes`, a
 * file listed on two rows, and a CSV without rows.
 */
export function parseMultiLabelCsv(text: string, options: MultiLabelCsvOptions = {}): MultiLabelCsv {
  const name = options.file ?? '<csv>';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const at = (line: number) => (column: number) => `${name}:${line}:${column}`;
  let headerLine = lines.findIndex((l) => l.trim() !== '');
  if (headerLine === -1) throw new Error(`${name}:1:1: empty CSV: expected a header 'file,labels' and one row per image`);
  const header = splitLine(lines[headerLine], at(headerLine + 1)).map((f) => ({ ...f, value: f.value.trim() }));
  if (header.length !== 2 || header[0].value.toLowerCase() !== 'file' || header[1].value.toLowerCase() !== 'labels') {
    const bad = header.find((f, i) => f.value.toLowerCase() !== ['file', 'labels'][i]) ?? header[header.length - 1];
    throw new Error(
      `${at(headerLine + 1)(bad.column)}: header '${lines[headerLine].trim()}': expected 'file,labels' (then rows such as 'images/a.png,cat;dog', labels separated by ';' or '|')`,
    );
  }
  headerLine++;
  const rows: { file: string; names: string[]; columns: number[]; line: number }[] = [];
  const seen = new Map<string, number>();
  for (let l = headerLine; l < lines.length; l++) {
    if (lines[l].trim() === '') continue;
    const where = at(l + 1);
    const fields = splitLine(lines[l], where);
    if (fields.length !== 2) {
      const column = fields.length > 2 ? fields[2].column : lines[l].length + 1;
      throw new Error(`${where(column)}: expected 2 fields (file,labels), found ${fields.length}`);
    }
    const [fileField, labelField] = fields;
    const file = fileField.value.trim();
    if (file === '') throw new Error(`${where(fileField.column)}: empty file name`);
    const key = file.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
    const first = seen.get(key);
    if (first !== undefined) throw new Error(`${where(fileField.column)}: duplicate row for file '${file}' (first listed on line ${first})`);
    seen.set(key, l + 1);
    if (labelField.value.trim() === '') throw new Error(`${where(labelField.column)}: no labels for '${file}' (expected one or more, separated by ';' or '|')`);
    const names: string[] = [];
    const columns: number[] = [];
    let offset = 0;
    for (const part of labelField.value.split(/[;|]/)) {
      const label = part.trim();
      const column = labelField.column + offset + (lines[l][labelField.column - 1] === '"' ? 1 : 0) + (part.length - part.trimStart().length);
      if (label === '') throw new Error(`${where(column)}: empty label in '${labelField.value}' (two separators in a row, or one at an end)`);
      if (names.includes(label)) throw new Error(`${where(column)}: label '${label}' listed twice for '${file}'`);
      names.push(label);
      columns.push(column);
      offset += part.length + 1;
    }
    rows.push({ file, names, columns, line: l + 1 });
  }
  if (rows.length === 0) throw new Error(`${at(headerLine)(1)}: no rows after the header (expected one row per image: file,labels)`);
  const classes = options.classes ? [...options.classes] : [...new Set(rows.flatMap((r) => r.names))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const C = classes.length;
  const multiLabels = new Uint8Array(rows.length * C);
  const labels = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    row.names.forEach((label, j) => {
      const c = index.get(label);
      if (c === undefined) throw new Error(`${name}:${row.line}:${row.columns[j]}: unknown label '${label}' (classes: ${classes.join(', ')})`);
      multiLabels[i * C + c] = 1;
      if (j === 0) labels[i] = c;
    });
  });
  return { files: rows.map((r) => r.file), lines: rows.map((r) => r.line), classes, multiLabels, labels };
}

/** The label sets of the images at `indices`, 0/1 bytes, `classes.length` per image; errors name `who`. */
function labelSetRows(dataset: ImageDataset, indices: ArrayLike<number>, who: string): Uint8Array {
  const C = dataset.classes.length;
  const multi = (dataset as Partial<MultiLabelImageDataset>).multiLabels;
  if (multi !== undefined && multi.length !== dataset.size * C) {
    throw new RangeError(`${who}: multiLabels has ${multi.length} values, expected size * classes = ${dataset.size} * ${C}`);
  }
  const out = new Uint8Array(indices.length * C);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!(Number.isInteger(index) && index >= 0 && index < dataset.size)) throw new RangeError(`${who}: index ${index} is outside the dataset (size ${dataset.size})`);
    if (multi) out.set(multi.subarray(index * C, (index + 1) * C), i * C);
    else {
      const label = dataset.labels[index];
      if (!(label >= 0 && label < C)) throw new RangeError(`${who}: label ${label} of image ${index} is outside the ${C} classes`);
      out[i * C + label] = 1;
    }
  }
  return out;
}

/**
 * The multi-hot labels of the images at `indices` as 0/1 bytes, row-major, `classes.length` per
 * image: what `multiHotBatch` puts in a tensor, for code that keeps label sets outside tensors (a
 * memory bank). A dataset without `multiLabels` gives one-hot rows of its `labels`.
 */
export function multiHotRows(dataset: ImageDataset, indices: ArrayLike<number>): Uint8Array {
  return labelSetRows(dataset, indices, 'multiHotRows');
}

/**
 * The multi-hot labels of the images at `indices` as float32 `[b, classes.length]`, the `labels`
 * that `supConLoss` takes with `multiLabel: 'any' | 'jaccard'` (pair it with `batchToTensor` for
 * the images). A dataset without `multiLabels` gives one-hot rows of its `labels`.
 */
export function multiHotBatch(dataset: ImageDataset, indices: ArrayLike<number>): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(labelSetRows(dataset, indices, 'multiHotBatch')), [indices.length, dataset.classes.length]);
}
