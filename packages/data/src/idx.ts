/**
 * IDX files (the MNIST / Fashion-MNIST format): decoding and encoding, without Node. Header: two
 * zero bytes, a type byte (0x08 = uint8), the number of dimensions, then one big-endian uint32
 * per dimension; the data follows, row-major. Gzip-compressed files are decompressed by
 * `parseIdx` in Node (idx-node.ts) or by `decodeIdx` anywhere (DecompressionStream).
 */
import { gunzip, isGzip } from './gunzip';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses an uncompressed IDX buffer. `file` names the source in errors. */
export function parseRawIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new Error(`${file}: not an IDX file (wrong magic number 0x${magic}, expected 0x0000 then type and rank)`);
  }
  if (bytes[2] !== 0x08) throw new Error(`${file}: unsupported IDX element type 0x${bytes[2].toString(16)} (only unsigned bytes, 0x08, are read)`);
  const rank = bytes[3];
  const headerSize = 4 + 4 * rank;
  if (rank === 0 || bytes.length < headerSize) throw new Error(`${file}: truncated IDX header (rank ${rank}, ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - headerSize < size) {
    throw new Error(`${file}: truncated data: the header promises ${shape.join('x')} = ${size} bytes, the file holds ${bytes.length - headerSize}`);
  }
  return { shape, data: bytes.subarray(headerSize, headerSize + size) };
}

/**
 * Parses an IDX buffer, gzip-compressed or not (detected by its magic bytes), in Node or a
 * browser: gzip goes through `DecompressionStream`. `file` names the source in errors.
 */
export async function decodeIdx(buffer: Uint8Array, file = '<buffer>'): Promise<IdxArray> {
  return parseRawIdx(isGzip(buffer) ? await gunzip(buffer, file) : buffer, file);
}

/** Encodes uint8 data as an IDX buffer (used to write the shipped sample and test files). */
export function encodeIdx(shape: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}
