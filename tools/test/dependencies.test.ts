/**
 * Dependencies point one way: core → parts → train → cli (→ tools, the unpublished workspace
 * scripts). A package may depend only on packages of a lower layer; so no part package depends on
 * another part package, and core depends on no @supcon package at all.
 *
 * What counts: "dependencies", "peerDependencies" and "optionalDependencies" of every
 * packages/*\/package.json and tools/package.json, what a consumer installs. "devDependencies"
 * do not count: a part's tests may use another part (the backbones tests run @supcon/backends'
 * wasm kernels), since nothing of that reaches a consumer. Source counts too: every import of an
 * `@supcon/*` package in a package's src/ (test files left out) must obey the same rule and be
 * declared in "dependencies" or "peerDependencies"; and no relative import in src/ may reach
 * outside its own package.
 *
 * Where the rule keeps two packages from importing each other, they meet by name, as tfjs ops and
 * kernels do: the batchNormTraining op of @supcon/backbones and the wasm kernels of
 * @supcon/backends share two kernel-name strings, which the last test compares.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '../..');

type Layer = 'core' | 'part' | 'train' | 'cli' | 'tools';
const RANK: Record<Layer, number> = { core: 0, part: 1, train: 2, cli: 3, tools: 4 };
const PARTS = [
  'losses',
  'backbones',
  'augment',
  'samplers',
  'data',
  'eval',
  'optim',
  'backends',
].map((n) => `@supcon/${n}`);

/**
 * The layer of a package name: core, the parts, train (the trainer, to come), cli, tools. Any
 * other @supcon package (a new plugin package, say) is a part: it may depend on core at most.
 */
export function layerOf(name: string): Layer {
  if (name === '@supcon/core') return 'core';
  if (name === '@supcon/train') return 'train';
  if (name === '@supcon/cli') return 'cli';
  if (name === '@supcon/tools') return 'tools';
  return 'part';
}

/** Why `from` may not depend on `to`, or null when it may. */
export function forbidden(from: string, to: string): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (from === to) return `${from} depends on itself`;
  if (RANK[b] < RANK[a]) return null;
  if (a === 'part' && b === 'part')
    return `${from} (a part) depends on ${to} (another part); a part may depend on @supcon/core at most`;
  return `${from} (${a}) depends on ${to} (${b}); dependencies point one way: core → parts → train → cli`;
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const COUNTED = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** Every broken rule in a set of manifests, one line each, naming the package and the dependency. */
export function manifestViolations(manifests: { file: string; manifest: Manifest }[]): string[] {
  const out: string[] = [];
  for (const { file, manifest } of manifests) {
    for (const field of COUNTED) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        if (!dep.startsWith('@supcon/')) continue;
        const why = forbidden(manifest.name, dep);
        if (why) out.push(`${file}: "${field}" has ${dep}: ${why}`);
      }
    }
  }
  return out;
}

function manifests(): { file: string; manifest: Manifest; dir: string }[] {
  const dirs = readdirSync(path.join(root, 'packages'))
    .map((d) => path.join(root, 'packages', d))
    .filter((d) => existsSync(path.join(d, 'package.json')));
  return [...dirs, path.join(root, 'tools')].map((dir) => ({
    dir,
    file: path.relative(root, path.join(dir, 'package.json')),
    manifest: JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest,
  }));
}

const isTestFile = (file: string) => /\.(test|typetest|spec)\.[cm]?[tj]sx?$/.test(file);

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) {
      if (entry !== 'node_modules' && entry !== 'test' && entry !== '__tests__')
        out.push(...sourceFiles(p));
    } else if (/\.[cm]?[tj]sx?$/.test(entry) && !entry.endsWith('.d.ts') && !isTestFile(entry)) {
      out.push(p);
    }
  }
  return out;
}

/** Import specifiers of a source file (static, dynamic and require; comments ignored), with lines. */
export function importsOf(source: string): { spec: string; line: number }[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles.map((f) => ({
    spec: f.fileName,
    line: source.slice(0, f.pos).split('\n').length,
  }));
}

/** The @supcon package a specifier names (`@supcon/x` or `@supcon/x/sub`), or null. */
const supconPackage = (spec: string): string | null => /^(@supcon\/[^/]+)/.exec(spec)?.[1] ?? null;

/** Every broken rule in the src/ of one package, one line each, naming the file, line and import. */
export function sourceViolations(
  pkgDir: string,
  manifest: Manifest,
  files: { file: string; source: string }[],
): string[] {
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const out: string[] = [];
  for (const { file, source } of files) {
    const where = path.relative(root, file);
    for (const { spec, line } of importsOf(source)) {
      const dep = supconPackage(spec);
      if (dep) {
        if (dep === manifest.name) continue;
        const why = forbidden(manifest.name, dep);
        if (why) out.push(`${where}:${line} imports '${spec}': ${why}`);
        else if (!declared.has(dep))
          out.push(
            `${where}:${line} imports '${spec}', which ${manifest.name} does not list in "dependencies" or "peerDependencies"`,
          );
      } else if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        if (path.relative(pkgDir, target).startsWith('..'))
          out.push(
            `${where}:${line} imports '${spec}', outside ${manifest.name} (import the package by name, if the rule allows it)`,
          );
      }
    }
  }
  return out;
}

describe('dependencies point one way: core → parts → train → cli', () => {
  const all = manifests();

  it('knows every package and finds the parts where they are', () => {
    const names = all.map((m) => m.manifest.name);
    expect(names).toContain('@supcon/core');
    expect(names).toContain('@supcon/cli');
    expect(names).toContain('@supcon/tools');
    for (const part of PARTS) {
      expect(names).toContain(part);
      expect(layerOf(part)).toBe('part');
    }
  });

  it('no package.json lists a dependency that points sideways or back (devDependencies aside)', () => {
    expect(manifestViolations(all)).toEqual([]);
  });

  it("no package's src imports a package that points sideways or back, or one it does not declare", () => {
    const out: string[] = [];
    for (const { dir, manifest } of all) {
      const files = sourceFiles(path.join(dir, 'src')).map((file) => ({
        file,
        source: readFileSync(file, 'utf8'),
      }));
      out.push(...sourceViolations(dir, manifest, files));
    }
    expect(out).toEqual([]);
  });

  describe('the checks name the package and the offending dependency', () => {
    it('a part depending on another part, core on anything, a part on the trainer or the cli', () => {
      const m = (name: string, field: (typeof COUNTED)[number], deps: string[]) => ({
        file: `packages/${name.slice('@supcon/'.length)}/package.json`,
        manifest: {
          name,
          [field]: Object.fromEntries(deps.map((d) => [d, '0.1.0'])),
          devDependencies: { '@supcon/backends': '0.1.0' }, // never counted
        } as Manifest,
      });
      expect(
        manifestViolations([
          m('@supcon/backbones', 'dependencies', ['@supcon/core', '@supcon/backends']),
          m('@supcon/core', 'peerDependencies', ['@supcon/losses']),
          m('@supcon/losses', 'optionalDependencies', ['@supcon/train', '@supcon/cli']),
          m('@supcon/my-plugin', 'dependencies', ['@supcon/core', '@supcon/augment']),
          m('@supcon/train', 'dependencies', ['@supcon/core', '@supcon/losses', '@supcon/cli']),
          m('@supcon/cli', 'dependencies', ['@supcon/core', '@supcon/train', '@supcon/eval']),
        ]),
      ).toEqual([
        'packages/backbones/package.json: "dependencies" has @supcon/backends: @supcon/backbones (a part) depends on @supcon/backends (another part); a part may depend on @supcon/core at most',
        'packages/core/package.json: "peerDependencies" has @supcon/losses: @supcon/core (core) depends on @supcon/losses (part); dependencies point one way: core → parts → train → cli',
        'packages/losses/package.json: "optionalDependencies" has @supcon/train: @supcon/losses (part) depends on @supcon/train (train); dependencies point one way: core → parts → train → cli',
        'packages/losses/package.json: "optionalDependencies" has @supcon/cli: @supcon/losses (part) depends on @supcon/cli (cli); dependencies point one way: core → parts → train → cli',
        'packages/my-plugin/package.json: "dependencies" has @supcon/augment: @supcon/my-plugin (a part) depends on @supcon/augment (another part); a part may depend on @supcon/core at most',
        'packages/train/package.json: "dependencies" has @supcon/cli: @supcon/train (train) depends on @supcon/cli (cli); dependencies point one way: core → parts → train → cli',
      ]);
    });

    it("a part's source importing another part, an undeclared package, or a file of another package", () => {
      const dir = path.join(root, 'packages/backbones');
      const source = [
        "import * as tf from '@tensorflow/tfjs-core';",
        "// import { batchNormTraining } from '@supcon/backends'; (a comment: not an import)",
        "import { batchNormTraining } from '@supcon/backends';",
        "import type { Rng } from '@supcon/core';",
        "const later = () => import('@supcon/losses/extra');",
        "import { x } from '../../backends/src/batch_norm';",
        "import { y } from './resnet';",
        "import { z } from '@supcon/backbones';",
      ].join('\n');
      expect(
        sourceViolations(dir, { name: '@supcon/backbones', peerDependencies: {} }, [
          { file: path.join(dir, 'src/batch-norm.ts'), source },
        ]),
      ).toEqual([
        "packages/backbones/src/batch-norm.ts:3 imports '@supcon/backends': @supcon/backbones (a part) depends on @supcon/backends (another part); a part may depend on @supcon/core at most",
        `packages/backbones/src/batch-norm.ts:4 imports '@supcon/core', which @supcon/backbones does not list in "dependencies" or "peerDependencies"`,
        "packages/backbones/src/batch-norm.ts:5 imports '@supcon/losses/extra': @supcon/backbones (a part) depends on @supcon/losses (another part); a part may depend on @supcon/core at most",
        "packages/backbones/src/batch-norm.ts:6 imports '../../backends/src/batch_norm', outside @supcon/backbones (import the package by name, if the rule allows it)",
      ]);
    });
  });

  it('the batch-norm op (@supcon/backbones) and its wasm kernels (@supcon/backends) meet by the same kernel names', () => {
    // A test may import both; neither package imports the other.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const backbones = require('@supcon/backbones') as Record<string, unknown>;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const backends = require('@supcon/backends') as {
      BATCH_NORM_TRAINING: string;
      BATCH_NORM_TRAINING_GRAD: string;
      wasmTrainingKernelConfigs: readonly { kernelName: string; backendName: string }[];
    };
    expect(backends.BATCH_NORM_TRAINING).toBe(backbones.BATCH_NORM_TRAINING);
    expect(backends.BATCH_NORM_TRAINING_GRAD).toBe(backbones.BATCH_NORM_TRAINING_GRAD);
    const wasm = backends.wasmTrainingKernelConfigs
      .filter((k) => k.backendName === 'wasm')
      .map((k) => k.kernelName);
    expect(wasm).toContain(backbones.BATCH_NORM_TRAINING);
    expect(wasm).toContain(backbones.BATCH_NORM_TRAINING_GRAD);
  });
});
