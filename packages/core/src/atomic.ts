/**
 * Writing files in a run folder without ever leaving a half-written one behind, and errors from
 * the file system (a full disk, a read-only mount, missing permissions) that say which file was
 * being written and what is still safe.
 *
 * - `writeFileAtomic` writes `<file>.tmp-<pid>-<time>-<random>` in the same folder, flushes it
 *   to disk and renames it over `file`: a reader sees the old file or the new one, never a
 *   truncated one. On failure the temporary file is removed and `file` is left as it was.
 * - `appendLine` appends to a log (metrics.jsonl); a failed append is cut back off, so the log
 *   never ends in a torn line because of an error (a kill mid-write still can: readers skip an
 *   incomplete last line, and resume cuts the log back to the checkpoint).
 * - Errors they throw are tagged with the file; `runFileError` turns a tagged (or any disk-space,
 *   read-only or permission) error into a `SupconFileError` that names the file and the last good
 *   checkpoint, keeping `code`.
 */
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Suffix of temporary names: `<pid>-<time base 36>-<random>`. */
export function tempSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** `<target>.tmp-<suffix>`: where `target` is assembled before it is renamed into place. */
export function tempPathFor(target: string): string {
  return `${target}.tmp-${tempSuffix()}`;
}

const TEMP_NAME = /^(.+)\.tmp-\d+(?:-[0-9a-z]+)*$/;

/**
 * The name a temporary file or folder made by `tempPathFor` (or an earlier `<name>.tmp-<pid>`)
 * stands for, e.g. `summary.json` for `summary.json.tmp-123-lz1k2-ab12cd`; undefined for any other name.
 */
export function tempTargetName(name: string): string | undefined {
  return TEMP_NAME.exec(name)?.[1];
}

const TAG = Symbol.for('supcon.fileOperation');

interface FileTag {
  file: string;
  operation: string;
}

/** Marks `error` as raised while `operation` ('writing', 'appending to', ...) `file`; returns it. */
export function tagFileError(error: unknown, file: string, operation = 'writing'): unknown {
  if (error !== null && typeof error === 'object' && !(TAG in error)) {
    Object.defineProperty(error, TAG, { value: { file, operation } satisfies FileTag, enumerable: false, configurable: true });
  }
  return error;
}

/** Flushes a folder's entries (a rename in it) to disk where the platform allows; never throws. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open folders; some file systems refuse fsync on them. The rename is done either way.
  }
}

/** Writes `data` to `file` and flushes it to disk (fsync), so a rename after it never exposes a truncated file. */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `file` atomically: a temporary file in the same folder, fsync, rename over
 * `file`, fsync of the folder. On failure the temporary file is removed, `file` keeps its old
 * contents, and the error (its `code` kept) is tagged with `file` for `runFileError`.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const target = path.resolve(file);
  const tmp = tempPathFor(target);
  try {
    await writeFileSynced(tmp, data);
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw tagFileError(error, target);
  }
  await syncDir(path.dirname(target));
}

/**
 * Appends `text` to `file` (created when missing). If the write fails part-way, what it wrote is
 * cut off again (best effort), so the file still ends where it did; the error is tagged with `file`.
 */
export async function appendLine(file: string, text: string): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'a');
  } catch (error) {
    throw tagFileError(error, file, 'appending to');
  }
  let size: number | undefined;
  try {
    size = (await handle.stat()).size;
    await handle.writeFile(text);
  } catch (error) {
    if (size !== undefined) await handle.truncate(size).catch(() => undefined);
    throw tagFileError(error, file, 'appending to');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Error codes that mean the disk, not the program, is in the way. */
const DISK_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device: free some space',
  EDQUOT: 'disk quota exceeded: free some space',
  EFBIG: 'the file is too large for the file system',
  EROFS: 'the file system is read-only: make it writable or use another folder',
  EACCES: 'permission denied: check who owns the folder',
  EPERM: 'operation not permitted: check who owns the folder',
  EIO: 'an input/output error: check the disk',
};

/** What `runFileError` makes of a file-system error during a run. */
export class SupconFileError extends Error {
  override name = 'SupconFileError';
  /** The file-system error code: 'ENOSPC', 'EROFS', 'EACCES', ... */
  readonly code: string;
  /** The file being written (or removed, or appended to) when it happened. */
  readonly file: string | undefined;
  /** What was being done to `file`: 'writing', 'appending to', 'removing', or the system call ('open', 'mkdir', ...). */
  readonly operation: string | undefined;
  /** The system call that failed, when the error said ('open', 'write', 'rename', ...). */
  readonly syscall: string | undefined;
  /** The last complete checkpoint of the run (left as it was), or undefined when there is none. */
  readonly lastCheckpoint: string | undefined;

  constructor(details: { code: string; file?: string; operation?: string; syscall?: string; lastCheckpoint?: string; cause: unknown }) {
    const what = DISK_CODES[details.code] ?? (details.cause instanceof Error ? details.cause.message : String(details.cause));
    const where = details.file ? `${details.operation ?? 'writing'} ${details.file}` : `a file operation${details.syscall ? ` (${details.syscall})` : ''}`;
    super(
      `${where} failed: ${what} (${details.code}). ` +
        (details.lastCheckpoint
          ? `The last good checkpoint is ${details.lastCheckpoint}, left as it was: continue from it with --resume.`
          : 'No checkpoint was written yet: the run has to start again.'),
      { cause: details.cause },
    );
    this.code = details.code;
    this.file = details.file;
    this.operation = details.operation;
    this.syscall = details.syscall;
    this.lastCheckpoint = details.lastCheckpoint;
  }
}

/**
 * `error` as a `SupconFileError` naming the file and `lastCheckpoint` when it is a file-system
 * error raised by a writer of this module (any code) or carries one of the disk codes (ENOSPC,
 * EDQUOT, EFBIG, EROFS, EACCES, EPERM, EIO); any other error is returned as it is. A
 * `SupconFileError` without a checkpoint gets `lastCheckpoint` filled in.
 */
export function runFileError(error: unknown, lastCheckpoint: string | undefined): unknown {
  if (error instanceof SupconFileError) {
    if (error.lastCheckpoint || !lastCheckpoint) return error;
    return new SupconFileError({ code: error.code, file: error.file, operation: error.operation, syscall: error.syscall, lastCheckpoint, cause: error.cause });
  }
  if (error === null || typeof error !== 'object') return error;
  const e = error as { code?: unknown; path?: unknown; syscall?: unknown; [TAG]?: FileTag };
  if (typeof e.code !== 'string' || !/^E[A-Z]+$/.test(e.code)) return error;
  const tag = e[TAG];
  if (!tag && !(e.code in DISK_CODES)) return error;
  const syscall = typeof e.syscall === 'string' ? e.syscall : undefined;
  const file = tag?.file ?? (typeof e.path === 'string' ? e.path : undefined);
  const operation = tag?.operation ?? syscall;
  return new SupconFileError({ code: e.code, file, operation, syscall, lastCheckpoint, cause: error });
}
