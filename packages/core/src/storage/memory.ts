/**
 * A run's files in memory, for tests and demos: a map of path → bytes. Folders are the paths'
 * parents (a folder stays when its last file is removed, as on disk) and the empty ones made by
 * `makeFolder`. Nothing survives the page or process; `files()` exports everything.
 *
 * Every operation is applied in one synchronous step after its checks, so a reader sees the old
 * state or the new one, and `writeFolder` keeps the folder as it was when `onFileWritten` throws.
 * Paths cannot climb out of the root (`..`): a memory storage has no outside.
 */
import { baseName, joinPath, parentPath, toBytes } from './types';
import type { RunStorage, StorageEntryKind, StorageFile, WriteFolderOptions } from './types';

/** A memory storage, with a way to look at everything in it. */
export interface MemoryStorage extends RunStorage {
  /** Every file, path → a copy of its bytes, sorted by path. */
  files(): Map<string, Uint8Array>;
}

/**
 * @internal Shared with the IndexedDB storage; not meant for the package's public surface.
 *
 * `path` in the form storages key files by: segments joined by '/', without empty or `.` segments
 * (so no leading or trailing '/'); `''` is the root. Throws, naming the path and `location`, for an
 * absolute path or a `..` segment, which storages without an outside (memory, IndexedDB) cannot hold.
 */
export function normalizeStoragePath(path: string, location: string): string {
  if (typeof path !== 'string') throw new TypeError(`${location}: a storage path must be a string, got ${typeof path}`);
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(path)) {
    throw new Error(`${location}: '${path}' is an absolute path; paths in a run's storage are relative to its root`);
  }
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new Error(`${location}: '${path}' climbs out of the run's root ('..'); ${location} has nothing outside it`);
  }
  return segments.join('/');
}

/** @internal Checks a `writeFolder` file list: names without '/', not `.`/`..`, each once. */
export function checkFolderFileNames(files: readonly StorageFile[], where: string): void {
  const seen = new Set<string>();
  for (const { name } of files) {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) {
      throw new Error(`${where}: '${name}' is not a file name (writeFolder takes names without '/')`);
    }
    if (seen.has(name)) throw new Error(`${where}: '${name}' is given twice`);
    seen.add(name);
  }
}

/** @internal The folders above `path`, root first (`['', 'a', 'a/b']` for `a/b/c`). */
export function ancestorPaths(path: string): string[] {
  if (path === '') return [];
  const out = [''];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) out.push(segments.slice(0, i).join('/'));
  return out;
}

/** A fresh copy of bytes (only the view's own bytes, not the rest of its buffer). */
function copyBytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}

/** An empty storage held in memory, at `memory://<name>`. */
export function memoryStorage(name = 'run'): MemoryStorage {
  const location = `memory://${name}`;
  const store = new Map<string, Uint8Array>();
  /** Every folder, '' included once anything exists. */
  const folders = new Set<string>();

  const describe = (path: string): string => {
    let p = path;
    try {
      p = normalizeStoragePath(path, location);
    } catch {
      // A message about a bad path still names it as given.
    }
    return p === '' ? location : `${location}/${p}`;
  };
  const norm = (path: string): string => normalizeStoragePath(path, location);

  const isInside = (path: string, folder: string): boolean => folder === '' || path.startsWith(`${folder}/`);

  /** Throws unless `path` can be (or already is) a file or a folder, per `as`. */
  function checkPlace(path: string, as: 'file' | 'folder'): void {
    for (const a of ancestorPaths(path)) {
      if (store.has(a)) throw new Error(`${describe(path)}: ${describe(a)} is a file, not a folder`);
    }
    if (as === 'file' && folders.has(path)) throw new Error(`${describe(path)} is a folder, not a file`);
    if (as === 'folder' && store.has(path)) throw new Error(`${describe(path)} is a file, not a folder`);
  }

  function addFolders(path: string, self: boolean): void {
    for (const a of ancestorPaths(path)) folders.add(a);
    if (self) folders.add(path);
  }

  function removeInside(folder: string, self: boolean): void {
    for (const p of [...store.keys()]) if (isInside(p, folder) || (self && p === folder)) store.delete(p);
    for (const f of [...folders]) if ((f !== folder && isInside(f, folder)) || (self && f === folder)) folders.delete(f);
  }

  function put(path: string, bytes: Uint8Array): void {
    checkPlace(path, 'file');
    addFolders(path, false);
    store.set(path, bytes);
  }

  return {
    location,
    describe,

    async kind(path: string): Promise<StorageEntryKind> {
      const p = norm(path);
      if (store.has(p)) return 'file';
      return folders.has(p) ? 'folder' : 'missing';
    },

    async list(path: string): Promise<string[]> {
      const p = norm(path);
      if (!folders.has(p)) return [];
      const names = new Set<string>();
      for (const entry of [...store.keys(), ...folders]) {
        if (entry !== '' && entry !== p && parentPath(entry) === p) names.add(baseName(entry));
      }
      return [...names].sort();
    },

    async read(path: string): Promise<Uint8Array | undefined> {
      const bytes = store.get(norm(path));
      return bytes === undefined ? undefined : copyBytes(bytes);
    },

    async size(path: string): Promise<number | undefined> {
      return store.get(norm(path))?.byteLength;
    },

    async write(path: string, data: Uint8Array | string): Promise<void> {
      const p = norm(path);
      if (p === '') throw new Error(`${location}: cannot write the root as a file`);
      put(p, copyBytes(toBytes(data)));
    },

    async append(path: string, text: string): Promise<void> {
      const p = norm(path);
      if (p === '') throw new Error(`${location}: cannot append to the root`);
      const old = store.get(p);
      const added = toBytes(text);
      if (old === undefined) return put(p, copyBytes(added));
      const joined = new Uint8Array(old.byteLength + added.byteLength);
      joined.set(old, 0);
      joined.set(added, old.byteLength);
      store.set(p, joined);
    },

    async truncate(path: string, bytes: number): Promise<void> {
      const p = norm(path);
      if (!Number.isInteger(bytes) || bytes < 0) {
        throw new RangeError(`${describe(p)}: cannot cut back to ${bytes} bytes (a whole number ≥ 0 is needed)`);
      }
      const old = store.get(p);
      if (old !== undefined && old.byteLength > bytes) store.set(p, old.slice(0, bytes));
    },

    async writeFolder(path: string, files: readonly StorageFile[], options: WriteFolderOptions = {}): Promise<void> {
      const p = norm(path);
      checkFolderFileNames(files, describe(p));
      checkPlace(p, 'folder');
      // Staged apart from the store; nothing is visible until all of them are in.
      const staged: [string, Uint8Array][] = [];
      for (const { name, data } of files) {
        staged.push([joinPath(p, name), copyBytes(toBytes(data))]);
        await options.onFileWritten?.(name);
      }
      // Checked again: the storage may have changed while `onFileWritten` ran.
      checkPlace(p, 'folder');
      removeInside(p, false);
      addFolders(p, true);
      for (const [file, bytes] of staged) store.set(file, bytes);
    },

    async makeFolder(path: string): Promise<void> {
      const p = norm(path);
      checkPlace(p, 'folder');
      addFolders(p, true);
    },

    async remove(path: string): Promise<void> {
      removeInside(norm(path), true);
    },

    files(): Map<string, Uint8Array> {
      return new Map([...store.keys()].sort().map((p) => [p, copyBytes(store.get(p) as Uint8Array)]));
    },
  };
}
