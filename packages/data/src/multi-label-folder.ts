/**
 * Multi-label image folders: images anywhere under `root`, listed with their labels in a CSV
 * (`file,labels`, see parseMultiLabelCsv). PNG and JPEG are decoded as image-folder decodes them.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EXTENSIONS, readImages } from './folder';
import { parseMultiLabelCsv } from './multi-label';
import type { MultiLabelCsv, MultiLabelImageDataset } from './multi-label';

export interface MultiLabelFolderOptions {
  /** The folder the CSV's paths are relative to. */
  root: string;
  /** The labels CSV, relative to `root` (or absolute); default `labels.csv`. */
  labels?: string;
  /** The classes in this order (a label not among them is an error); default: the CSV's labels, sorted. */
  classes?: readonly string[];
  /** Resize every image to `[h, w]` (nearest neighbour); without it all images must share one size. */
  size?: [number, number];
  /** 1 (luma, ITU-R 601) or 3 (RGB, default); alpha is dropped. */
  channels?: 1 | 3;
}

/** Reads and parses the labels CSV of a multi-label folder (no images): errors name the file, line and column. */
export function readMultiLabelCsv(options: Pick<MultiLabelFolderOptions, 'root' | 'labels' | 'classes'>): MultiLabelCsv & { csv: string } {
  const { root } = options;
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`root: ${root} is not a folder`);
  const csv = path.resolve(root, options.labels ?? 'labels.csv');
  if (!existsSync(csv) || !statSync(csv).isFile()) {
    throw new Error(`${csv}: labels CSV not found (expected a header 'file,labels' and rows such as 'a.png,cat;dog', paths relative to ${root})`);
  }
  return { ...parseMultiLabelCsv(readFileSync(csv, 'utf8'), { file: csv, classes: options.classes }), csv };
}

/**
 * Reads a multi-label image folder: the images listed in `root/labels.csv` (header `file,labels`,
 * labels separated by `;` or `|`), in the CSV's order, into one uint8 HWC dataset with multi-hot
 * `multiLabels` and the first listed label as `labels` (see MultiLabelImageDataset). Errors name
 * `csv:line:column` for a missing or non-image file, besides the CSV's own errors.
 */
export function loadMultiLabelFolder(options: MultiLabelFolderOptions): MultiLabelImageDataset {
  const parsed = readMultiLabelCsv(options);
  const files = parsed.files.map((f, i) => {
    const file = path.resolve(options.root, f);
    const where = `${parsed.csv}:${parsed.lines[i]}:1`;
    if (!EXTENSIONS.has(path.extname(file).toLowerCase())) throw new Error(`${where}: '${f}' is not a .png, .jpg or .jpeg file`);
    if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`${where}: file '${f}' does not exist (${file})`);
    return file;
  });
  const { images, shape } = readImages(files, options.size, options.channels ?? 3);
  return { size: files.length, shape, images, labels: parsed.labels, classes: parsed.classes, multiLabels: parsed.multiLabels };
}
