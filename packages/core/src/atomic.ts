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
import { tagFileError } from './file-errors';
import { tempPathFor } from './temp-names';

export { tempSuffix, tempPathFor, tempTargetName } from './temp-names';
export { tagFileError, SupconFileError, runFileError } from './file-errors';

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

