import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { downloadFile } from '../src/index';

const body = Buffer.from(Array.from({ length: 200000 }, (_, i) => (i * 31) % 251));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('downloadFile against a server on 127.0.0.1', () => {
  let server: http.Server;
  let base = '';
  const ranges: string[] = [];
  let cutNext = false;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const data = req.url === '/corrupt' ? Buffer.from(body).fill(7, 0, 10) : body;
      const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
      if (range) ranges.push(req.headers.range!);
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'content-length': String(data.length - start) });
      if (cutNext) {
        cutNext = false;
        res.write(data.subarray(start, start + 100000));
        setTimeout(() => res.destroy(), 50);
        return;
      }
      res.end(data.subarray(start));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads, verifies SHA-256 and renames into place, reporting progress', async () => {
    const dest = path.join(mkdtempSync(path.join(tmpdir(), 'dl-')), 'f.bin');
    let last = 0;
    await downloadFile({ url: `${base}/ok`, dest, sha256: sha(body), progressBar: false, onProgress: (r) => (last = r) });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(last).toBe(body.length);
  });

  it('a corrupt file fails naming both hashes and leaves nothing behind', async () => {
    const dest = path.join(mkdtempSync(path.join(tmpdir(), 'dl-')), 'f.bin');
    const bad = Buffer.from(body).fill(7, 0, 10);
    await expect(downloadFile({ url: `${base}/corrupt`, dest, sha256: sha(body), progressBar: false })).rejects.toThrow(
      `SHA-256 mismatch: expected ${sha(body)}, got ${sha(bad)}`,
    );
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false);
  });

  it('a transfer cut short keeps the part file, and the next call resumes with Range', async () => {
    const dest = path.join(mkdtempSync(path.join(tmpdir(), 'dl-')), 'f.bin');
    cutNext = true;
    await expect(downloadFile({ url: `${base}/ok`, dest, sha256: sha(body), progressBar: false })).rejects.toThrow(/run again to resume/);
    const kept = statSync(`${dest}.part`).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(body.length);
    await downloadFile({ url: `${base}/ok`, dest, sha256: sha(body), progressBar: false });
    expect(ranges).toContain(`bytes=${kept}-`);
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('keeps a file already in place with the right hash', async () => {
    const dest = path.join(mkdtempSync(path.join(tmpdir(), 'dl-')), 'f.bin');
    writeFileSync(dest, body);
    await expect(downloadFile({ url: `${base}/never`, dest, sha256: sha(body), progressBar: false })).resolves.toBe(dest);
  });
});
