/** Gzip without Node: `DecompressionStream` (browsers, Node >= 18, Deno, workers). */

/** Whether `bytes` start with gzip's magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The decompressed bytes of gzip data. `file` names the source in errors. Throws where the
 * runtime has no `DecompressionStream`, and for corrupt data.
 */
export async function gunzip(bytes: Uint8Array, file = '<buffer>'): Promise<Uint8Array> {
  if (typeof DecompressionStream !== 'function') throw new Error(`${file}: gzip data, but this runtime has no DecompressionStream to decompress it: serve the file uncompressed`);
  const stream = new DecompressionStream('gzip');
  const writer = stream.writable.getWriter();
  // Not awaited before reading: the stream's queue would fill and the write never resolve.
  const written = writer.write(bytes as Uint8Array<ArrayBuffer>).then(() => writer.close());
  written.catch(() => undefined); // the reader below reports the same error
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
    }
    await written;
  } catch (error) {
    throw new Error(`${file}: corrupt gzip data (${(error as Error).message})`);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
