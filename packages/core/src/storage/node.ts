/**
 * A run's files in a folder on disk (Node only). Every write is atomic and flushed to disk:
 *
 * - `write`: `<file>.tmp-*` in the same folder, fsync, rename over the file (`writeFileAtomic`);
 * - `append`: a failed append is cut back off (`appendLine`);
 * - `writeFolder`: the folder is assembled as `<folder>.tmp-*`, the old one moved aside to
 *   `<folder>.old-*`, the new one renamed into place and the old one removed. A reader sees the
 *   old folder or the new one (`.old-*` is what a checkpoint reader falls back to when a kill
 *   lands between the two renames).
 *
 * Errors keep their `code` (ENOSPC, EROFS, ...) and are tagged with the absolute path of the file
 * being written, for `runFileError`. Relative paths may climb out of the root with `../`.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { appendLine, tagFileError, tempSuffix, writeFileAtomic, writeFileSynced } from '../atomic';
import type { RunStorage, StorageEntryKind, StorageFile, WriteFolderOptions } from './types';

/** The storage of the folder `root` (resolved against the working directory). */
export function nodeStorage(root: string): RunStorage {
  const base = path.resolve(root);
  const abs = (p: string): string => (p === '' ? base : path.resolve(base, p));

  return {
    location: base,
    describe: abs,

    async kind(p: string): Promise<StorageEntryKind> {
      try {
        return (await stat(abs(p))).isDirectory() ? 'folder' : 'file';
      } catch {
        return 'missing';
      }
    },

    async list(p: string): Promise<string[]> {
      const dir = abs(p);
      if (!existsSync(dir)) return [];
      try {
        if (!(await stat(dir)).isDirectory()) return [];
        return (await readdir(dir)).sort();
      } catch (error) {
        throw tagFileError(error, dir, 'reading');
      }
    },

    async read(p: string): Promise<Uint8Array | undefined> {
      const file = abs(p);
      try {
        const buf = await readFile(file);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw tagFileError(error, file, 'reading');
      }
    },

    async size(p: string): Promise<number | undefined> {
      try {
        return (await stat(abs(p))).size;
      } catch {
        return undefined;
      }
    },

    async write(p: string, data: Uint8Array | string): Promise<void> {
      const file = abs(p);
      try {
        await mkdir(path.dirname(file), { recursive: true });
      } catch (error) {
        throw tagFileError(error, path.dirname(file), 'creating');
      }
      await writeFileAtomic(file, data);
    },

    append: (p: string, text: string) => appendLine(abs(p), text),

    async truncate(p: string, bytes: number): Promise<void> {
      const file = abs(p);
      if (!existsSync(file)) return;
      let handle;
      try {
        handle = await open(file, 'r+');
        if ((await handle.stat()).size > bytes) await handle.truncate(bytes);
      } catch (error) {
        throw tagFileError(error, file, 'cutting back');
      } finally {
        await handle?.close().catch(() => undefined);
      }
    },

    async writeFolder(p: string, files: readonly StorageFile[], options: WriteFolderOptions = {}): Promise<void> {
      const target = abs(p);
      const tmp = `${target}.tmp-${tempSuffix()}`;
      try {
        await mkdir(path.dirname(target), { recursive: true });
        await mkdir(tmp);
      } catch (error) {
        throw tagFileError(error, target);
      }
      try {
        for (const { name, data } of files) {
          try {
            await writeFileSynced(path.join(tmp, name), data);
          } catch (error) {
            // Named by the path the file has once the folder is in place.
            throw tagFileError(error, path.join(target, name));
          }
          await options.onFileWritten?.(name);
        }
        let old: string | undefined;
        if (existsSync(target)) {
          old = `${target}.old-${tempSuffix()}`;
          await rename(target, old);
        }
        await rename(tmp, target);
        if (old) await rm(old, { recursive: true, force: true });
      } catch (error) {
        await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        // A failed rename names the folder.
        throw tagFileError(error, target);
      }
    },

    async makeFolder(p: string): Promise<void> {
      const dir = abs(p);
      try {
        await mkdir(dir, { recursive: true });
      } catch (error) {
        throw tagFileError(error, dir, 'creating');
      }
    },

    async remove(p: string): Promise<void> {
      const file = abs(p);
      try {
        await rm(file, { recursive: true, force: true });
      } catch (error) {
        throw tagFileError(error, file, 'removing');
      }
    },
  };
}
