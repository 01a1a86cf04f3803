/**
 * `exportEncoder` and `loadEncoder` in a browser: runs live in a `RunStorage` (IndexedDB, memory),
 * exports are loaded from a URL as any web app loads a tfjs model (see export.ts).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { RunStorage } from '@supcon/core';
import { ENCODER_METADATA_FILE, ENCODER_MODEL_FILE, checkEncoderMetadata, checkEncoderOut, encoderExportFiles, loadEncoderFiles, wrapEncoder, writeEncoderFiles } from './export';
import type { ExportEncoderOptions, ExportEncoderResult, ExportPlatform, LoadedEncoder } from './export';
import { configRecord } from './run';

const platform: ExportPlatform = {
  async loadConfig(config) {
    if (typeof config === 'string') throw new TypeError(`exportEncoder: config files are Node-only; in a browser pass the config as an object (got ${JSON.stringify(config)})`);
    return { raw: configRecord(config, 'exportEncoder') };
  },
};

/**
 * Writes the encoder of the run kept in `run` (e.g. `indexedDbStorage({ run })`) into the storage
 * `out`, folder `options.folder` (default its root): model.json, the weight shards and supcon.json,
 * as the Node entry's `exportEncoder` writes them to disk. The folder must be missing or empty
 * unless `overwrite`. The files are also returned (`result.files` names them; read them from `out`).
 */
export async function exportEncoder(run: RunStorage, out: RunStorage, options: ExportEncoderOptions & { folder?: string } = {}): Promise<ExportEncoderResult> {
  const folder = options.folder ?? '';
  const overwrite = options.overwrite === true;
  await checkEncoderOut(out, folder, overwrite);
  const { files, metadata } = await encoderExportFiles(platform, run, options);
  await writeEncoderFiles(out, folder, files, overwrite);
  return { out: out.describe(folder), files: files.map((f) => f.name), metadata };
}

/** `https://host/models/enc`, `.../enc/` or `.../enc/model.json` -> `.../enc/`. */
function baseUrl(url: string): string {
  if (/\.json(\?.*)?$/i.test(url)) return url.slice(0, url.lastIndexOf('/', url.search(/\.json/i)) + 1);
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * Loads an exported encoder from the URL of its folder (or of its model.json), as a web app
 * would with plain tfjs: `tf.loadLayersModel(url + 'model.json')`, plus supcon.json; or from a
 * `RunStorage` holding the files at its root. The model runs on the tfjs backend in use.
 * @throws naming the URL, when supcon.json cannot be fetched or is of another format or a newer version.
 */
export async function loadEncoder(source: string | RunStorage): Promise<LoadedEncoder> {
  if (typeof source !== 'string') {
    return loadEncoderFiles(
      (n) => source.read(n),
      (n) => source.describe(n),
    );
  }
  const base = baseUrl(source);
  const metaUrl = base + ENCODER_METADATA_FILE;
  let response: Response;
  try {
    response = await fetch(metaUrl);
  } catch (error) {
    throw new Error(`loadEncoder: ${metaUrl} could not be fetched: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`loadEncoder: ${metaUrl} is missing (HTTP ${response.status}): not an encoder written by exportEncoder / supcon export`);
  let json: unknown;
  try {
    json = await response.json();
  } catch (error) {
    throw new Error(`loadEncoder: ${metaUrl} is not valid JSON: ${(error as Error).message}`);
  }
  const metadata = checkEncoderMetadata(json, metaUrl);
  const model = await tfl.loadLayersModel(base + ENCODER_MODEL_FILE);
  return wrapEncoder(model, metadata, base + ENCODER_MODEL_FILE);
}
