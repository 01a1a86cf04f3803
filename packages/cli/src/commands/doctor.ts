/** `supcon doctor`: what this machine offers supcon. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Command } from 'commander';
import { nativeKernelsSupported, probeBackends } from '@supcon/backends';
import type { BackendProbe } from '@supcon/backends';
import { threadCount } from '../threads';
import { fusedKernelInfo } from '@supcon/losses';
import * as tf from '@tensorflow/tfjs-core';

export interface DoctorDeps {
  print?: (line: string) => void;
  printError?: (line: string) => void;
  /** Sets the exit code: 1 when no backend can start. Default: `process.exitCode`. */
  setExitCode?: (code: number) => void;
  /** Which backend packages resolve (default: `probeBackends` of @supcon/backends); tests pass their own. */
  probe?: () => BackendProbe[] | Promise<BackendProbe[]>;
  /** Dataset locations to report, name -> folder (filled from @supcon/data). */
  datasets?: () => Record<string, string | undefined>;
}

/** The version of `pkg` installed next to the CLI, else in the current folder's project. */
function versionOf(pkg: string): string {
  for (const base of [import.meta.url, path.join(process.cwd(), 'package.json')]) {
    try {
      return (createRequire(base)(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      // not there: try the next place
    }
  }
  return 'not installed';
}

export function registerDoctorCommand(program: Command, deps: DoctorDeps = {}): void {
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = deps.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const setExitCode =
    deps.setExitCode ??
    ((code: number) => {
      process.exitCode = code;
    });
  program
    .command('doctor')
    .description('report Node and tfjs versions, which backends load, wasm SIMD/threads, and the datasets found')
    .action(async () => {
      print(`node            ${process.version} (${process.platform} ${process.arch})`);
      print(`tfjs-core       ${tf.version_core}`);
      print(`tfjs-layers     ${versionOf('@tensorflow/tfjs-layers')}`);
      print('backends:');
      const probes = await (deps.probe ?? probeBackends)();
      for (const probe of probes) {
        print(`  ${probe.name.padEnd(15)} ${probe.available ? `ok (${probe.package} ${probe.version ?? ''})` : `unavailable: ${probe.error}`}`);
        if (probe.wasm) print(`  ${''.padEnd(15)} wasm SIMD ${probe.wasm.simd ? 'yes' : 'no'}, threads: ${threadCount('auto')} (config \`threads\`, default 'auto': the available CPUs, at most 8)`);
      }
      const winograd = process.env.SUPCON_WINOGRAD === 'off' ? 'off (SUPCON_WINOGRAD=off)' : 'on';
      print(
        `wasm kernels    ${
          nativeKernelsSupported()
            ? `supcon's WebAssembly SIMD kernels on the threads above (Winograd F(2x2,3x3): ${winograd})`
            : `XNNPACK-composed (${process.env.SUPCON_TRAIN_KERNELS === 'off' ? 'SUPCON_TRAIN_KERNELS=off' : 'no WebAssembly SIMD'})`
        }`,
      );
      print(`supConLoss      fused row kernel: ${fusedKernelInfo().available ? 'WebAssembly SIMD' : 'JavaScript fallback (no WebAssembly SIMD)'}`);
      print('datasets:');
      const found = deps.datasets?.() ?? {};
      if (Object.keys(found).length === 0) print('  (none known)');
      for (const [name, dir] of Object.entries(found)) print(`  ${name.padEnd(22)} ${dir && existsSync(dir) ? dir : 'not found'}`);
      if (!probes.some((p) => p.available)) {
        printError(
          'supcon doctor: no backend can start: none of ' +
            probes.map((p) => p.package).join(', ') +
            ' is installed next to supcon or in this folder. Install one, e.g. `npm i @tensorflow/tfjs-backend-wasm@^4.22.0`.',
        );
        setExitCode(1);
      }
    });
}
