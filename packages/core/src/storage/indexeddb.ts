/**
 * A run's files in IndexedDB, for browsers: `indexeddb://<database>/<run>`.
 *
 * Layout: one object store, `entries`, with out-of-line keys `[run, path]`. A file's value is its
 * bytes (a `Uint8Array`); a folder's value is the string `'folder'`. Writing a file records its
 * folders too (so a folder stays when its last file is removed, as on disk); `''` is the root's
 * record. Runs sharing a database never see each other's entries: every read and write is scoped
 * to keys starting with `run`.
 *
 * Each operation is one IndexedDB transaction, so it is applied whole or not at all: `append` and
 * `truncate` read and write back inside one readwrite transaction, and `writeFolder` deletes the
 * folder's old entries and puts the new files in one readwrite transaction.
 *
 * `writeFolder` and `onFileWritten`: a transaction commits as soon as it has no pending request
 * when the event loop goes idle, so an `onFileWritten` that awaits anything (a timer, a fetch)
 * would let it commit half-done. The files are therefore staged in memory first, in the order
 * given, calling `onFileWritten(name)` after each is staged; only when every file is staged (and
 * no callback threw) is the one transaction run. A throw from `onFileWritten` leaves the database
 * untouched; a failure of the transaction itself (quota, a closed tab) aborts it and IndexedDB
 * keeps the old folder.
 *
 * Opening the database happens once, on first use (and again only after another connection asked
 * for a version change). The store is created in an upgrade; a database that exists without it
 * (made by other code) is upgraded to its next version. Nothing happens on import.
 *
 * Key ranges are walked with a key cursor and `IDBFactory.cmp`, not `IDBKeyRange`, so the one
 * `indexedDB` factory passed in (say `new IDBFactory()` from fake-indexeddb in Node) is all it needs.
 */
import { ancestorPaths, checkFolderFileNames, normalizeStoragePath } from './memory';
import { joinPath, toBytes } from './types';
import type { RunStorage, StorageEntryKind, StorageFile, WriteFolderOptions } from './types';

export interface IndexedDbStorageOptions {
  /** The IndexedDB database (default 'supcon'); it holds any number of runs. */
  database?: string;
  /** The run's name inside the database. */
  run: string;
  /** The IndexedDB to use (default `globalThis.indexedDB`), e.g. `new IDBFactory()` from fake-indexeddb. */
  indexedDB?: IDBFactory;
}

/** An IndexedDB storage, with a way to let go of its connection. */
export interface IndexedDbStorage extends RunStorage {
  readonly database: string;
  readonly run: string;
  /** Closes the database connection (after its pending transactions); the next operation opens it again. */
  close(): void;
}

const STORE = 'entries';
const FOLDER = 'folder';

type Key = [string, string];
type Entry = Uint8Array | typeof FOLDER;

function isBytes(value: unknown): value is Uint8Array {
  // Not `instanceof`: the structured clone may come from another realm (a worker, a test vm).
  return ArrayBuffer.isView(value);
}

function asBytes(value: unknown): Uint8Array | undefined {
  if (!isBytes(value)) return undefined;
  return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

/** The storage of run `run` in the IndexedDB database `database` (created when missing). */
export function indexedDbStorage(options: IndexedDbStorageOptions): IndexedDbStorage {
  const database = options.database ?? 'supcon';
  const run = options.run;
  if (typeof run !== 'string' || run === '') throw new Error('indexedDbStorage: `run` must be a non-empty string');
  if (database === '') throw new Error('indexedDbStorage: `database` must be a non-empty string');
  const location = `indexeddb://${database}/${run}`;
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) {
    throw new Error(
      `indexedDbStorage (${location}): no IndexedDB here (globalThis.indexedDB is undefined, as in Node); ` +
        "pass one as options.indexedDB, e.g. new IDBFactory() from 'fake-indexeddb'",
    );
  }
  const idb: IDBFactory = factory;

  const key = (path: string): Key => [run, path];
  const cmp = (a: IDBValidKey, b: IDBValidKey): number => idb.cmp(a, b);
  /** Bounds of everything strictly inside `folder`: paths starting `folder/` are in [`folder/`, `folder0`) ('0' follows '/'). */
  const inside = (folder: string): [Key, IDBValidKey] =>
    folder === '' ? [key(''), [run, []]] : [key(`${folder}/`), key(`${folder}0`)];

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

  let opening: Promise<IDBDatabase> | undefined;

  function openOnce(version?: number): Promise<IDBDatabase> {
    return new Promise<IDBDatabase>((resolve, reject) => {
      const req = version === undefined ? idb.open(database) : idb.open(database, version);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error(`${location}: cannot open the IndexedDB database '${database}': ${req.error?.message ?? 'unknown error'}`));
      req.onblocked = () => {
        // Another connection holds an older version; the open goes on once it closes.
      };
    });
  }

  async function open(): Promise<IDBDatabase> {
    let db = await openOnce();
    if (!db.objectStoreNames.contains(STORE)) {
      const next = db.version + 1;
      db.close();
      db = await openOnce(next);
    }
    db.onversionchange = () => {
      db.close();
      if (current === db) {
        current = undefined;
        opening = undefined;
      }
    };
    current = db;
    return db;
  }
  let current: IDBDatabase | undefined;

  function connection(): Promise<IDBDatabase> {
    if (!opening) {
      opening = open();
      opening.catch(() => {
        opening = undefined;
      });
    }
    return opening;
  }

  /**
   * Runs `body` in one transaction and resolves once it has committed. `body` may only await
   * requests of this transaction (anything else would let it commit early). A throw aborts it.
   */
  async function transact<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => Promise<T>): Promise<T> {
    let db = await connection();
    let tx: IDBTransaction;
    try {
      tx = db.transaction(STORE, mode);
    } catch (error) {
      // The connection was closed (a version change) between opening and now: open again once.
      if ((error as { name?: string }).name !== 'InvalidStateError') throw error;
      opening = undefined;
      db = await connection();
      tx = db.transaction(STORE, mode);
    }
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new Error(`${location}: IndexedDB transaction aborted`));
    });
    done.catch(() => undefined);
    let result: T;
    try {
      result = await body(tx.objectStore(STORE));
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // Already finished or aborted.
      }
      throw error;
    }
    await done;
    return result;
  }

  /** Keys `k` with `lower <= k < upper`, walked with a key cursor (no IDBKeyRange needed). */
  function keysBetween(store: IDBObjectStore, lower: IDBValidKey, upper: IDBValidKey): Promise<Key[]> {
    return new Promise<Key[]>((resolve, reject) => {
      const keys: Key[] = [];
      const req = store.openKeyCursor();
      req.onerror = () => reject(req.error ?? new Error('IndexedDB cursor failed'));
      req.onsuccess = () => {
        const cursor = req.result;
        if (!cursor) return resolve(keys);
        if (cmp(cursor.key, lower) < 0) return cursor.continue(lower);
        if (cmp(cursor.key, upper) >= 0) return resolve(keys);
        keys.push(cursor.key as Key);
        cursor.continue();
      };
    });
  }

  async function get(store: IDBObjectStore, path: string): Promise<Entry | undefined> {
    const value: unknown = await request(store.get(key(path)));
    if (value === FOLDER) return FOLDER;
    return isBytes(value) ? value : undefined;
  }

  async function kindIn(store: IDBObjectStore, path: string): Promise<StorageEntryKind> {
    const value = await get(store, path);
    if (value === FOLDER) return 'folder';
    if (value !== undefined) return 'file';
    // A folder implied by entries under it (records written without their folders).
    const [lower, upper] = inside(path);
    return (await keysBetween(store, lower, upper)).length > 0 ? 'folder' : 'missing';
  }

  /** Throws unless `path` can be (or already is) a file or a folder, per `as`; then records its folders. */
  async function place(store: IDBObjectStore, path: string, as: 'file' | 'folder'): Promise<void> {
    const above = ancestorPaths(path);
    const values = await Promise.all(above.map((a) => get(store, a)));
    values.forEach((v, i) => {
      if (isBytes(v)) throw new Error(`${describe(path)}: ${describe(above[i])} is a file, not a folder`);
    });
    const self = await get(store, path);
    if (as === 'file' && self === FOLDER) throw new Error(`${describe(path)} is a folder, not a file`);
    if (as === 'folder' && isBytes(self)) throw new Error(`${describe(path)} is a file, not a folder`);
    for (const a of above) store.put(FOLDER, key(a));
    if (as === 'folder') store.put(FOLDER, key(path));
  }

  async function deleteInside(store: IDBObjectStore, folder: string): Promise<void> {
    const [lower, upper] = inside(folder);
    const keys = await keysBetween(store, lower, upper);
    for (const k of keys) if (!(folder === '' && k[1] === '')) store.delete(k);
  }

  const writable = (path: string, what: string): string => {
    const p = norm(path);
    if (p === '') throw new Error(`${location}: cannot ${what} the root as a file`);
    return p;
  };

  return {
    location,
    database,
    run,
    describe,

    async kind(path: string): Promise<StorageEntryKind> {
      const p = norm(path);
      return transact('readonly', (store) => kindIn(store, p));
    },

    async list(path: string): Promise<string[]> {
      const p = norm(path);
      return transact('readonly', async (store) => {
        const self = await get(store, p);
        if (isBytes(self)) return [];
        const [lower, upper] = inside(p);
        const names = new Set<string>();
        for (const [, entry] of await keysBetween(store, lower, upper)) {
          if (entry === '' || entry === p) continue;
          // The first segment below `p`.
          const rest = p === '' ? entry : entry.slice(p.length + 1);
          const slash = rest.indexOf('/');
          names.add(slash < 0 ? rest : rest.slice(0, slash));
        }
        return [...names].sort();
      });
    },

    async read(path: string): Promise<Uint8Array | undefined> {
      const p = norm(path);
      const value = await transact('readonly', (store) => get(store, p));
      return value === FOLDER ? undefined : asBytes(value);
    },

    async size(path: string): Promise<number | undefined> {
      const p = norm(path);
      const value = await transact('readonly', (store) => get(store, p));
      return isBytes(value) ? value.byteLength : undefined;
    },

    async write(path: string, data: Uint8Array | string): Promise<void> {
      const p = writable(path, 'write');
      // A copy of just the view's bytes (a structured clone would store its whole buffer).
      const bytes = new Uint8Array(toBytes(data));
      return transact('readwrite', async (store) => {
        await place(store, p, 'file');
        store.put(bytes, key(p));
      });
    },

    async append(path: string, text: string): Promise<void> {
      const p = writable(path, 'append to');
      const added = toBytes(text);
      return transact('readwrite', async (store) => {
        await place(store, p, 'file');
        const old = await get(store, p);
        const oldBytes = isBytes(old) ? old : new Uint8Array(0);
        const joined = new Uint8Array(oldBytes.byteLength + added.byteLength);
        joined.set(oldBytes, 0);
        joined.set(added, oldBytes.byteLength);
        store.put(joined, key(p));
      });
    },

    async truncate(path: string, bytes: number): Promise<void> {
      const p = norm(path);
      if (!Number.isInteger(bytes) || bytes < 0) {
        throw new RangeError(`${describe(p)}: cannot cut back to ${bytes} bytes (a whole number ≥ 0 is needed)`);
      }
      await transact('readwrite', async (store) => {
        const old = await get(store, p);
        if (isBytes(old) && old.byteLength > bytes) store.put(old.slice(0, bytes), key(p));
      });
    },

    async writeFolder(path: string, files: readonly StorageFile[], options: WriteFolderOptions = {}): Promise<void> {
      const p = norm(path);
      checkFolderFileNames(files, describe(p));
      // Staged in memory, calling onFileWritten after each (see the top of this file): an awaited
      // callback inside the transaction would let it commit part-way.
      const staged: [string, Uint8Array][] = [];
      for (const { name, data } of files) {
        staged.push([joinPath(p, name), new Uint8Array(toBytes(data))]);
        await options.onFileWritten?.(name);
      }
      await transact('readwrite', async (store) => {
        await place(store, p, 'folder');
        await deleteInside(store, p);
        for (const [file, bytes] of staged) store.put(bytes, key(file));
      });
    },

    async makeFolder(path: string): Promise<void> {
      const p = norm(path);
      return transact('readwrite', (store) => place(store, p, 'folder'));
    },

    async remove(path: string): Promise<void> {
      const p = norm(path);
      return transact('readwrite', async (store) => {
        await deleteInside(store, p);
        store.delete(key(p));
      });
    },

    close(): void {
      const pending = opening;
      current = undefined;
      opening = undefined;
      pending?.then(
        (db) => db.close(),
        () => undefined,
      );
    },
  };
}
