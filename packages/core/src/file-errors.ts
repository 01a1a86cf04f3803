/**
 * Errors from the file system (a full disk, a read-only mount, missing permissions) that say which
 * file was being written and what is still safe. Storages tag the errors they throw with the file
 * (`tagFileError`); `runFileError` turns a tagged (or any disk-space, read-only or permission)
 * error into a `SupconFileError` naming the file and the last good checkpoint, keeping `code`.
 */
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
