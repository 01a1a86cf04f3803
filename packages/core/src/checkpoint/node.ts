/**
 * Checkpoints in folders on disk (Node): `saveCheckpoint(dir, ...)` and friends take paths and
 * go through a `nodeStorage` of the folder above (so the `.tmp-*` / `.old-*` twins of an atomic
 * swap sit beside the checkpoint, where `loadCheckpoint` looks for them).
 */
import path from 'node:path';
import { nodeStorage } from '../storage/node';
import { latestCheckpointIn, loadCheckpointFrom, readCheckpointStateFrom, saveCheckpointTo } from './checkpoint';
import type { CheckpointContents, JsonValue, LoadCheckpointOptions, LoadedCheckpoint, SaveCheckpointOptions } from './checkpoint';

function split(dir: string): [ReturnType<typeof nodeStorage>, string] {
  const target = path.resolve(dir);
  return [nodeStorage(path.dirname(target)), path.basename(target)];
}

/**
 * Writes the checkpoint folder `dir` atomically: everything goes to `<dir>.tmp-*` first, then an
 * existing `dir` is moved aside, the new folder renamed into place, and the old one removed.
 * Returns the absolute folder. See `saveCheckpointTo`.
 */
export function saveCheckpoint(dir: string, contents: CheckpointContents, options: SaveCheckpointOptions = {}): Promise<string> {
  const [storage, name] = split(dir);
  return saveCheckpointTo(storage, name, contents, options);
}

/** Reads the checkpoint folder `dir` (or its `.old-*` twin); see `loadCheckpointFrom`. */
export function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const [storage, name] = split(dir);
  return loadCheckpointFrom(storage, name, options);
}

/** The JSON `state` of the checkpoint folder `dir`; see `readCheckpointStateFrom`. */
export function readCheckpointState(dir: string): Promise<JsonValue | undefined> {
  const [storage, name] = split(dir);
  return readCheckpointStateFrom(storage, name);
}

/** The newest complete checkpoint folder of the run folder `runDir` (absolute), or undefined; see `latestCheckpointIn`. */
export async function latestCheckpoint(runDir: string): Promise<string | undefined> {
  const storage = nodeStorage(runDir);
  const found = await latestCheckpointIn(storage);
  return found === undefined ? undefined : storage.describe(found);
}
