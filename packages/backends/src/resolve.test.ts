/**
 * Where the optional backend packages are found: next to @supcon/backends first (whatever the
 * current folder), then in the current folder's project.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probeBackends } from './index';

describe('probeBackends: where backend packages resolve', () => {
  const cwd = process.cwd();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'supcon-resolve-'));
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds wasm and cpu installed next to @supcon/backends when started from an empty folder', () => {
    process.chdir(dir);
    const rows = Object.fromEntries(probeBackends().map((p) => [p.backend, p]));
    expect(rows.wasm.available).toBe(true);
    expect(rows.wasm.version).toMatch(/^4\./);
    expect(rows.cpu.available).toBe(true);
  });

  it("falls back to the current folder's project for a backend installed only there", () => {
    const pkg = path.join(dir, 'node_modules', '@tensorflow', 'tfjs-node');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.99.0' }));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    process.chdir(dir);
    const tensorflow = probeBackends().find((p) => p.backend === 'tensorflow');
    expect(tensorflow).toMatchObject({ installed: true, version: '4.99.0' });
  });
});
