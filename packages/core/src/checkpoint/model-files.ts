/**
 * A `tf.LayersModel` as files and back, through `tf.io` handlers that touch no file system:
 * `<name>.weights.bin` (float32/int32 weights in the order of `model.weights`) and `<name>.json`
 * (tfjs model artifacts: topology, weightsManifest -> `<name>.weights.bin`).
 */
import { io } from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { RunStorage, StorageFile } from '../storage/types';
import { joinPath, readText } from '../storage/types';

/** One weight data blob as bytes (tfjs may hand over several buffers). */
export function weightBytes(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(io.CompositeArrayBuffer.join(data));
}

/** An `ArrayBuffer` holding exactly the bytes of `bytes`. */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** The files of `model` under `name`: weights first, then the JSON that points at them. */
export async function modelFiles(model: LayersModel, name: string): Promise<StorageFile[]> {
  const files: StorageFile[] = [];
  await model.save({
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const weightsFile = `${name}.weights.bin`;
      files.push({ name: weightsFile, data: weightBytes(artifacts.weightData) });
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      files.push({ name: `${name}.json`, data: JSON.stringify(modelJson) });
      return { modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts) };
    },
  });
  return files;
}

/** What `modelFiles` wrote, read back. */
export interface SavedModel {
  json: io.ModelJSON;
  specs: io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

/** Reads `<dir>/<name>.json` and the weight files it names. */
export async function readSavedModel(storage: RunStorage, dir: string, name: string): Promise<SavedModel> {
  const file = joinPath(dir, `${name}.json`);
  const text = await readText(storage, file);
  if (text === undefined) throw new Error(`loadCheckpoint: ${storage.describe(file)} is missing`);
  const json = JSON.parse(text) as io.ModelJSON;
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const buffers: ArrayBuffer[] = [];
  for (const p of json.weightsManifest.flatMap((group) => group.paths)) {
    const bytes = await storage.read(joinPath(dir, p));
    if (bytes === undefined) throw new Error(`loadCheckpoint: ${storage.describe(joinPath(dir, p))} is missing`);
    buffers.push(toArrayBuffer(bytes));
  }
  return { json, specs, data: io.concatenateArrayBuffers(buffers) };
}

/** A new model built from its saved topology and weights. */
export function buildSavedModel(saved: SavedModel): Promise<LayersModel> {
  return loadLayersModel({
    load: async () => ({
      modelTopology: saved.json.modelTopology,
      format: saved.json.format,
      generatedBy: saved.json.generatedBy,
      convertedBy: saved.json.convertedBy,
      trainingConfig: saved.json.trainingConfig,
      weightSpecs: saved.specs,
      weightData: saved.data,
    }),
  });
}

/** Sets `model`'s weights from saved ones, by position, checking count and shapes. */
export function setSavedWeights(model: LayersModel, saved: SavedModel, label: string): void {
  const weights = model.weights;
  if (weights.length !== saved.specs.length) {
    throw new Error(`loadCheckpoint: ${label} has ${saved.specs.length} weights in the checkpoint, the model has ${weights.length}`);
  }
  const decoded = io.decodeWeights(saved.data, saved.specs);
  try {
    const values = saved.specs.map((spec, i) => {
      const expected = weights[i].shape;
      if (spec.shape.length !== expected.length || spec.shape.some((d, j) => d !== expected[j])) {
        throw new Error(
          `loadCheckpoint: ${label} weight ${i} ('${spec.name}') has shape [${spec.shape.join(', ')}] in the checkpoint, the model expects [${expected.join(', ')}]`,
        );
      }
      return decoded[spec.name];
    });
    model.setWeights(values);
  } finally {
    for (const t of Object.values(decoded)) t.dispose();
  }
}
