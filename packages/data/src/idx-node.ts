/** IDX files in Node: synchronous gzip (node:zlib) and reading from disk. */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { isGzip } from './gunzip';
import { parseRawIdx } from './idx';
import type { IdxArray } from './idx';

/** Parses an IDX buffer (gzip detected by its magic bytes). `file` names the source in errors. */
export function parseIdx(buffer: Uint8Array, file = '<buffer>'): IdxArray {
  let bytes = buffer;
  if (isGzip(bytes)) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (error) {
      throw new Error(`${file}: corrupt gzip data (${(error as Error).message})`);
    }
  }
  return parseRawIdx(bytes, file);
}

export async function readIdx(file: string): Promise<IdxArray> {
  return parseIdx(new Uint8Array(await readFile(file)), file);
}
