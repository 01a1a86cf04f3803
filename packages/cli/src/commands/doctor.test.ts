import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { BackendProbe } from '@supcon/backends';
import { registerDoctorCommand } from './doctor';

describe('supcon doctor', () => {
  it('reports the wasm backend with SIMD, the SupCon row kernel, and which dataset folders exist', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'supcon-doctor-'));
    const lines: string[] = [];
    const program = new Command().exitOverride();
    registerDoctorCommand(program, {
      print: (l) => lines.push(l),
      datasets: () => ({ present: dir, missing: path.join(dir, 'nope') }),
    });
    try {
      await program.parseAsync(['node', 'supcon', 'doctor']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const text = lines.join('\n');
    // Node 20 has WebAssembly SIMD, so both the backend and the loss kernel must say so.
    expect(text).toMatch(/wasm +ok/);
    expect(text).toContain('wasm SIMD yes');
    expect(text).toMatch(/threads: [1-8] \(config `threads`/);
    expect(text).toContain('fused row kernel: WebAssembly SIMD');
    expect(text).toContain("wasm kernels    supcon's WebAssembly SIMD kernels on the threads above (Winograd F(2x2,3x3): on)");
    expect(lines.find((l) => l.includes('present'))).toContain(dir);
    expect(lines.find((l) => l.includes('missing'))).toContain('not found');
  });
});

describe('supcon doctor exit code', () => {
  async function doctor(probe: () => BackendProbe[]) {
    const lines: string[] = [];
    const errors: string[] = [];
    const codes: number[] = [];
    const program = new Command().exitOverride();
    registerDoctorCommand(program, { print: (l) => lines.push(l), printError: (l) => errors.push(l), setExitCode: (c) => codes.push(c), datasets: () => ({}), probe });
    await program.parseAsync(['node', 'supcon', 'doctor']);
    return { lines, errors, codes };
  }
  const row = (backend: BackendProbe['backend'], available: boolean): BackendProbe => ({
    backend,
    name: backend,
    package: `@tensorflow/pkg-${backend}`,
    installed: available,
    available,
    ...(available ? { version: '4.22.0' } : { error: 'not installed' }),
  });

  it('exits 1 and says so when no backend can start', async () => {
    const { errors, codes } = await doctor(() => [row('tensorflow', false), row('wasm', false), row('cpu', false)]);
    expect(codes).toEqual([1]);
    expect(errors.join('\n')).toMatch(/no backend can start/);
  });

  it('leaves the exit code alone when one backend is there', async () => {
    const { errors, codes } = await doctor(() => [row('tensorflow', false), row('wasm', false), row('cpu', true)]);
    expect(codes).toEqual([]);
    expect(errors).toEqual([]);
  });
});
