/**
 * Downloads into the dataset cache: streamed to `<dest>.part`, resumed with an HTTP Range request
 * when a part file exists, verified by SHA-256, then renamed into place (atomic), with a progress
 * bar on a TTY (cli-progress) and an `onProgress` callback.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { SingleBar } from 'cli-progress';

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected SHA-256 (hex) of the whole file. */
  sha256: string;
  onProgress?: (received: number, total: number | undefined) => void;
  /** Draw a progress bar (default: when stderr is a TTY). */
  progressBar?: boolean;
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Downloads `url` to `dest` (see the module comment). Resolves to `dest`; a file already there with the right hash is kept. */
export async function downloadFile(options: DownloadOptions): Promise<string> {
  const { url, dest, sha256 } = options;
  if (existsSync(dest) && (await sha256Of(dest)) === sha256) return dest;
  mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  const bar = options.progressBar ?? Boolean(process.stderr.isTTY) ? new SingleBar({ format: `${path.basename(dest)} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr }) : undefined;
  await new Promise<void>((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const request = get(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} }, (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200 && status !== 206) {
        response.resume();
        reject(new Error(`download ${url}: HTTP ${status}`));
        return;
      }
      // 206: the server continues where the part file ends; 200: it sends everything again.
      const resumed = status === 206 && have > 0;
      const length = Number(response.headers['content-length'] ?? NaN);
      const total = Number.isFinite(length) ? length + (resumed ? have : 0) : undefined;
      let received = resumed ? have : 0;
      bar?.start(total ?? 0, received);
      const out = createWriteStream(part, { flags: resumed ? 'a' : 'w' });
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        bar?.update(received);
        options.onProgress?.(received, total);
      });
      response.on('aborted', () => out.destroy(new Error(`download ${url}: connection closed after ${received} bytes; run again to resume`)));
      response.on('error', (e) => out.destroy(e));
      out.on('error', (e) => reject(new Error(`download ${url}: ${e.message}`)));
      out.on('finish', () => {
        if (total !== undefined && received < total) reject(new Error(`download ${url}: connection closed after ${received} of ${total} bytes; run again to resume`));
        else resolve();
      });
      response.pipe(out);
    });
    request.on('error', (e) => reject(new Error(`download ${url}: ${e.message} (the partial file ${part} is kept; run again to resume)`)));
  }).finally(() => bar?.stop());
  const actual = await sha256Of(part);
  if (actual !== sha256) {
    await rm(part, { force: true });
    throw new Error(`download ${url}: SHA-256 mismatch: expected ${sha256}, got ${actual}; the download was deleted`);
  }
  await rename(part, dest);
  return dest;
}

