/** `exportEncoder` and `loadEncoder` in Node: runs and exports are folders on disk (see export.ts). */
import path from 'node:path';
import { nodeStorage } from '@supcon/core';
import type { RunStorage } from '@supcon/core';
import { checkEncoderOut, encoderExportFiles, loadEncoderFiles, writeEncoderFiles } from './export';
import type { ExportEncoderOptions, ExportEncoderResult, LoadedEncoder } from './export';
import { nodePlatform } from './node';

/** `<run>/checkpoints/<name>` -> the run folder and the checkpoint in it; any other path is a run folder. */
function splitRunPath(run: string): { runDir: string; checkpoint?: string } {
  const parts = run.replace(/[\\/]+$/, '').split(/[\\/]/);
  if (parts.length >= 3 && parts[parts.length - 2] === 'checkpoints') {
    return { runDir: parts.slice(0, -2).join('/') || '/', checkpoint: `checkpoints/${parts[parts.length - 1]}` };
  }
  return { runDir: run };
}

/**
 * Writes the encoder of a trained run (with `withHead`, encoder + projection head) to the folder
 * `out` as a standard tfjs-layers model that `tf.loadLayersModel` loads unchanged: model.json,
 * weight shards `group1-shardNofM.bin` and supcon.json (input shape, normalisation, classes,
 * the run's config, ...). `run` is a run folder, one of its checkpoint folders
 * (`<run>/checkpoints/epoch-0003`), or a `RunStorage`; the models are rebuilt from the run's
 * config as `evaluate()` does and the checkpoint's weights loaded (default the latest). The run is
 * left as it was.
 * @throws when `out` holds anything and `overwrite` is not set (with `overwrite`, only the files an
 *   export writes are replaced; other files stay); when the run has no checkpoint.
 */
export async function exportEncoder(run: string | RunStorage, out: string, options: ExportEncoderOptions = {}): Promise<ExportEncoderResult> {
  let storage: RunStorage;
  let checkpoint = options.checkpoint;
  if (typeof run === 'string') {
    const split = splitRunPath(run);
    storage = nodeStorage(split.runDir);
    if (split.checkpoint && !checkpoint) checkpoint = split.checkpoint;
  } else {
    storage = run;
  }
  const target = path.resolve(out);
  const name = path.basename(target);
  if (name === '') throw new Error(`exportEncoder: out must name a folder, got ${JSON.stringify(out)}`);
  const parent = nodeStorage(path.dirname(target));
  const overwrite = options.overwrite === true;
  // Refused before anything is built.
  await checkEncoderOut(parent, name, overwrite);
  const { files, metadata } = await encoderExportFiles(nodePlatform, storage, { ...options, ...(checkpoint ? { checkpoint } : {}) });
  await writeEncoderFiles(parent, name, files, overwrite);
  return { out: target, files: files.map((f) => f.name), metadata };
}

/**
 * Loads an encoder written by `exportEncoder` / `supcon export` from a folder (or the path of its
 * model.json or supcon.json), or from a `RunStorage` holding those files at its root. The model
 * runs on the tfjs backend in use: start one first (`initBackend` of @supcon/backends).
 * @throws naming the file, when supcon.json is missing or of another format or a newer version,
 *   or when model.json or a weight shard is missing.
 */
export async function loadEncoder(source: string | RunStorage): Promise<LoadedEncoder> {
  let storage: RunStorage;
  if (typeof source === 'string') {
    const folder = /\.json$/i.test(source) ? path.dirname(source) : source;
    storage = nodeStorage(folder);
    const kind = await storage.kind('');
    if (kind !== 'folder') throw new Error(`loadEncoder: ${storage.location} ${kind === 'missing' ? 'does not exist' : 'is not a folder'}`);
  } else {
    storage = source;
  }
  return loadEncoderFiles(
    (n) => storage.read(n),
    (n) => storage.describe(n),
  );
}
