import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
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
