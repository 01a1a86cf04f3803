/**
 * Where a run keeps its files: a folder on disk in Node, IndexedDB in a browser, memory in tests
 * and demos. The runner, checkpoints and the run-folder checks go through this interface only, so
 * the same run works in all three.
 *
 * Paths are relative to the run's root and use '/' (`metrics.jsonl`, `checkpoints/epoch-0003/model.json`);
 * `''` is the root itself. A path may start with `../` only on storages that say so (the Node
 * folder storage does: a `--resume` checkpoint outside the run folder).
 */

/** What is at a path. */
export type StorageEntryKind = 'file' | 'folder' | 'missing';

/** One file of a folder written by `writeFolder`. */
export interface StorageFile {
  /** Name inside the folder (no '/'). */
  name: string;
  data: Uint8Array | string;
}

export interface WriteFolderOptions {
  /**
   * Called after each file is written, before the folder is in place. A throw aborts the write and
   * leaves the folder as it was; used to test atomicity.
   */
  onFileWritten?: (name: string) => void | Promise<void>;
}

export interface RunStorage {
  /** Where the run lives, for messages and `RunnerContext.runDir`: an absolute folder, `memory://name`, `indexeddb://db/name`. */
  readonly location: string;
  /** A path's location for messages (`<location>/<path>`). */
  describe(path: string): string;
  /** What is at `path`; `''` is the root (a folder once anything was written, else 'missing'). */
  kind(path: string): Promise<StorageEntryKind>;
  /** Names directly inside the folder `path`, sorted; `[]` when it is missing. */
  list(path: string): Promise<string[]>;
  /** A file's bytes; undefined when it is missing. */
  read(path: string): Promise<Uint8Array | undefined>;
  /** A file's size in bytes; undefined when it is missing. */
  size(path: string): Promise<number | undefined>;
  /**
   * Replaces the file `path` as a whole (creating its folders): a reader sees the old contents or
   * the new, never part of either. On failure the old contents stay.
   */
  write(path: string, data: Uint8Array | string): Promise<void>;
  /** Appends UTF-8 `text` to the file (created when missing). A failed append leaves the file as it was. */
  append(path: string, text: string): Promise<void>;
  /** Keeps the first `bytes` bytes of the file (no-op when it is shorter or missing). */
  truncate(path: string, bytes: number): Promise<void>;
  /**
   * Writes the folder `path` as one unit: afterwards it holds exactly `files`, or, when the write
   * fails (or is killed) part-way, what it held before. Files are written in the order given.
   */
  writeFolder(path: string, files: readonly StorageFile[], options?: WriteFolderOptions): Promise<void>;
  /** Creates the folder `path` (and its parents); no-op when it exists. */
  makeFolder(path: string): Promise<void>;
  /** Removes a file, or a folder with everything in it; no-op when missing. */
  remove(path: string): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string (or the bytes as they are). */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

/** A file's text (UTF-8); undefined when it is missing. */
export async function readText(storage: RunStorage, path: string): Promise<string | undefined> {
  const bytes = await storage.read(path);
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

/** `a/b` for `('a', 'b')`, `b` for `('', 'b')`. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** The folder of a path (`''` for a name at the root). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The last segment of a path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
