/**
 * Every package but @supcon/cli bundles for browsers: esbuild (`platform: 'browser'`, as
 * `esbuild --bundle --platform=browser` does) on an entry that imports @supcon/core, the parts
 * (losses, augment, samplers, optim, eval, backbones, data), @supcon/backends and @supcon/train,
 * each one alone and all together. Bundling fails on any `node:` module, `fs`, `path` and the like
 * that a browser build reaches; the bundle of every package is also checked to hold no Node
 * built-in and no Node-only module of ours (src/node/, node.ts, *-node.ts, core's load.ts and
 * atomic.ts), and to have each package's browser entry in it.
 *
 * `@supcon/*` imports resolve as a bundler resolves the published package: through the package's
 * `exports` map with the conditions `browser`, `import`, `default`, in the map's order, to a file
 * of dist/, which is then read from src/ (tsup builds `dist/NAME.js` from `src/NAME.ts`). So the
 * test needs no build, and checks the export conditions as well as the sources. (The aliasing is a
 * plugin, which esbuild asks before tsconfig.base.json's `paths`: those point `@supcon/*` at the
 * Node entries, src/index.ts.) Two more tests bundle the built dist/ files themselves where they
 * are all newer than their sources: the parts through the same aliasing, and every package but cli
 * as an app would, through node_modules and package.json's exports with `conditions: ['browser']`
 * (and `tsconfigRaw: '{}'`, so no `paths` apply).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import type { BuildOptions, Message, Metafile, Plugin } from 'esbuild';

const root = path.resolve(__dirname, '../..');
/** The part packages and core. */
const PARTS = ['core', 'losses', 'augment', 'samplers', 'optim', 'eval', 'backbones', 'data'];
/** Every package under packages/ but the CLI. */
const ALL = readdirSync(path.join(root, 'packages'))
  .filter((n) => n !== 'cli' && existsSync(path.join(root, 'packages', n, 'package.json')))
  .sort();
const BROWSER = new Set(['browser', 'import', 'default']);
const NODE = new Set(['node', 'import', 'default']);

type Exports = string | { [condition: string]: Exports } | null | undefined;

/** The target of an exports entry for `conditions` (Node's algorithm: the first matching key in order). */
export function exportTarget(
  entry: Exports,
  conditions: Set<string> = BROWSER,
): string | undefined {
  if (typeof entry === 'string') return entry;
  if (entry === null || entry === undefined) return undefined;
  for (const [condition, value] of Object.entries(entry)) {
    if (!conditions.has(condition)) continue;
    const target = exportTarget(value, conditions);
    if (target !== undefined) return target;
  }
  return undefined;
}

function manifest(name: string): { exports?: Record<string, Exports> } {
  return JSON.parse(readFileSync(path.join(root, 'packages', name, 'package.json'), 'utf8')) as {
    exports?: Record<string, Exports>;
  };
}

/** The file a browser bundler (or Node, with `NODE`) takes for `@supcon/<name>`: `./dist/x.js`. */
function exportOf(name: string, conditions: Set<string> = BROWSER): string {
  const target = exportTarget(manifest(name).exports?.['.'], conditions);
  if (target === undefined)
    throw new Error(`packages/${name}/package.json: no export for ${[...conditions].join(', ')}`);
  return target;
}

/** `./dist/x.js` → packages/<name>/src/x.ts. */
function sourceOf(name: string, target: string): string {
  const m = /^\.\/dist\/(.+)\.(c|m)?js$/.exec(target);
  if (!m) throw new Error(`packages/${name}: export target ${target} is not a dist/*.js file`);
  const file = path.join(root, 'packages', name, 'src', `${m[1]}.ts`);
  if (!existsSync(file))
    throw new Error(`packages/${name}: ${target} has no source ${path.relative(root, file)}`);
  return file;
}

/** Resolves `@supcon/<name>` to the package's browser file, in src/ (`from: 'src'`) or dist/. */
function supconPackages(from: 'src' | 'dist'): Plugin {
  return {
    name: 'supcon-packages',
    setup(b) {
      b.onResolve({ filter: /^@supcon\/[a-z0-9-]+$/ }, (args) => {
        const name = args.path.slice('@supcon/'.length);
        const target = exportOf(name);
        return {
          path: from === 'src' ? sourceOf(name, target) : path.join(root, 'packages', name, target),
        };
      });
    },
  };
}

function format(messages: Message[]): string {
  return messages
    .map(
      (m) =>
        `${m.location ? `${path.relative(root, path.resolve(root, m.location.file))}:${m.location.line}: ` : ''}${m.text}`,
    )
    .join('\n');
}

/**
 * How `@supcon/*` resolves: `src` and `dist` through the aliasing plugin (to src/ or dist/);
 * `exports` as an app's bundler does, through node_modules/@supcon (the workspace links) and each
 * package.json's exports with the `browser` condition, no tsconfig `paths`.
 */
type From = 'src' | 'dist' | 'exports';

interface Bundled {
  /** esbuild's errors, one a line ('' when none). */
  errors: string;
  bytes: number;
  /** The bundle's input files, relative to the repository root. */
  inputs: Metafile['inputs'];
}

/** Bundles an entry importing `names` for browsers (or, with `platform: 'node'`, for Node). */
async function bundle(
  names: string[],
  from: From,
  platform: 'browser' | 'node' = 'browser',
): Promise<Bundled> {
  const contents = [
    ...names.map((n, i) => `import * as p${i} from '@supcon/${n}';`),
    `export const parts = [${names.map((_, i) => `p${i}`).join(', ')}];`,
  ].join('\n');
  const resolution: BuildOptions =
    from === 'exports'
      ? { conditions: ['browser'], tsconfigRaw: '{}' }
      : { plugins: [supconPackages(from)] };
  try {
    const result = await build({
      stdin: { contents, resolveDir: root, sourcefile: 'browser-entry.js', loader: 'js' },
      absWorkingDir: root,
      bundle: true,
      platform,
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      ...resolution,
    });
    return {
      errors: format(result.errors),
      bytes: result.outputFiles![0]!.contents.length,
      inputs: result.metafile!.inputs,
    };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (errors) return { errors: format(errors), bytes: 0, inputs: {} };
    throw e;
  }
}

/**
 * Our Node-only modules (paths from the repository root): what a browser bundle must never reach.
 * backends' src/node/ (require, probe, threaded wasm in Node, kernel worker threads); the Node
 * entries `node.ts` (train) and the Node halves `storage/node.ts`, `checkpoint/node.ts`, `*-node.ts`
 * (core's runner and run folder, data's idx files, eval's text files); core's config-file loader
 * `load.ts` and atomic folder swap `atomic.ts`.
 */
const NODE_ONLY: RegExp[] = [
  /^packages\/[^/]+\/src\/node\//,
  /^packages\/[^/]+\/src\/(.+\/)?node\.ts$/,
  /^packages\/[^/]+\/src\/(.+\/)?[^/]+-node\.ts$/,
  /^packages\/core\/src\/(load|atomic)\.ts$/,
];
const isNodeOnly = (file: string) => NODE_ONLY.some((re) => re.test(file));
const isBuiltin = (p: string) => p.startsWith('node:') || builtinModules.includes(p.split('/')[0]!);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [path.relative(root, path.join(dir, e.name))]
        : [],
  );
}

/** Our source files behind a bundle's inputs: the inputs under packages/, and for a dist/ file the sources its source map names. */
function ourSources(inputs: Metafile['inputs']): string[] {
  const files: string[] = [];
  for (const file of Object.keys(inputs)) {
    if (!file.startsWith('packages/')) continue;
    files.push(file);
    const map = path.join(root, `${file}.map`);
    if (!file.includes('/dist/') || !existsSync(map)) continue;
    const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
    for (const s of sources) files.push(path.relative(root, path.resolve(path.dirname(map), s)));
  }
  return files;
}

/** What in a browser bundle comes from Node: built-ins, Node-only modules of ours, imports a `browser` field turned off. */
function nodeParts(inputs: Metafile['inputs']): {
  builtins: string[];
  nodeOnly: string[];
  disabled: string[];
} {
  const files = Object.keys(inputs);
  return {
    builtins: files.filter(isBuiltin),
    nodeOnly: ourSources(inputs).filter(isNodeOnly),
    // Our files import no built-in, not even one a browser field turns off (tfjs's own packages
    // turn off fs, path, os, worker_threads and perf_hooks that way).
    disabled: files
      .filter((f) => f.startsWith('packages/'))
      .flatMap((f) =>
        inputs[f]!.imports.filter((i) => isBuiltin(i.path) || i.path.startsWith('(disabled):')).map(
          (i) => `${f} → ${i.path}`,
        ),
      ),
  };
}

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Why the dist/ files of `names` cannot stand for the sources (missing or older), or null when they can. */
function staleDist(names: string[]): string | null {
  for (const name of names) {
    const dir = path.join(root, 'packages', name);
    const file = path.join(dir, exportOf(name));
    if (!existsSync(file)) return `${path.relative(root, file)} is not built`;
    const sources = Math.max(
      newest(path.join(dir, 'src')),
      statSync(path.join(dir, 'package.json')).mtimeMs,
    );
    if (statSync(file).mtimeMs < sources)
      return `${path.relative(root, file)} is older than its sources`;
  }
  return null;
}

/** The package's browser entry as a bundle input: its source, or (`dist`) the built file. */
function entryInput(name: string, from: 'src' | 'dist'): string {
  const target = exportOf(name);
  return path.relative(
    root,
    from === 'src' ? sourceOf(name, target) : path.join(root, 'packages', name, target),
  );
}

describe('the packages bundle for browsers (esbuild, platform browser)', () => {
  it('resolves export conditions in order', () => {
    expect(
      exportTarget({ browser: { types: 'b.d.ts', default: 'b.js' }, node: 'n.js', import: 'i.js' }),
    ).toBe('b.js');
    expect(
      exportTarget({
        node: 'n.js',
        import: { types: 'i.d.ts', default: 'i.js' },
        require: 'r.cjs',
      }),
    ).toBe('i.js');
    expect(exportTarget({ require: 'r.cjs' })).toBeUndefined();
    expect(exportTarget({ browser: 'b.js', node: 'n.js', import: 'i.js' }, NODE)).toBe('n.js');
  });

  it('every package under packages/ but cli is bundled, backends and train included', () => {
    expect(ALL).toEqual(expect.arrayContaining([...PARTS, 'backends', 'train']));
    expect(ALL).not.toContain('cli');
  });

  it('the Node-only patterns still name files that exist, and no browser entry', () => {
    const sources = readdirSync(path.join(root, 'packages')).flatMap((n) =>
      existsSync(path.join(root, 'packages', n, 'src'))
        ? sourceFiles(path.join(root, 'packages', n, 'src'))
        : [],
    );
    for (const re of NODE_ONLY)
      expect({ re, hits: sources.some((f) => re.test(f)) }).toEqual({ re, hits: true });
    // The browser entries themselves are not Node-only.
    for (const name of ALL) expect(isNodeOnly(entryInput(name, 'src'))).toBe(false);
  });

  it.each(ALL)('@supcon/%s alone', async (name) => {
    const { errors, bytes } = await bundle([name], 'src');
    expect(errors).toBe('');
    expect(bytes).toBeGreaterThan(0);
  });

  it('all the parts in one bundle', async () => {
    expect((await bundle(PARTS, 'src')).errors).toBe('');
  });

  it('every package but cli in one bundle: no Node built-in, nothing Node-only, each browser entry in it', async () => {
    const { errors, bytes, inputs } = await bundle(ALL, 'src');
    expect(errors).toBe('');
    expect(bytes).toBeGreaterThan(0);
    expect(nodeParts(inputs)).toEqual({ builtins: [], nodeOnly: [], disabled: [] });
    expect(Object.keys(inputs)).toEqual(
      expect.arrayContaining(ALL.map((n) => entryInput(n, 'src'))),
    );
  });

  it('the check sees Node-only modules where they are: the Node entries, bundled for Node, reach them', async () => {
    const nodeEntries: Plugin = {
      name: 'supcon-node-entries',
      setup(b) {
        b.onResolve({ filter: /^@supcon\/[a-z0-9-]+$/ }, (args) => {
          const name = args.path.slice('@supcon/'.length);
          return { path: sourceOf(name, exportOf(name, NODE)) };
        });
      },
    };
    const result = await build({
      stdin: {
        contents: "export * from '@supcon/train'; export * as b from '@supcon/backends';",
        resolveDir: root,
        loader: 'js',
      },
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      packages: 'external',
      plugins: [nodeEntries],
    });
    const { nodeOnly } = nodeParts(result.metafile.inputs);
    expect(nodeOnly).toEqual(
      expect.arrayContaining([
        'packages/train/src/node.ts',
        'packages/backends/src/node/init.ts',
        'packages/core/src/load.ts',
      ]),
    );
  });

  const staleParts = staleDist(PARTS);
  (staleParts ? it.skip : it)(
    `the built dist/ files of the parts too${staleParts ? ` (skipped: ${staleParts})` : ''}`,
    async () => {
      expect((await bundle(PARTS, 'dist')).errors).toBe('');
    },
  );

  const staleAll = staleDist(ALL);
  (staleAll ? it.skip : it)(
    `every package but cli from its built dist/, through package.json exports with conditions ['browser']${staleAll ? ` (skipped: ${staleAll})` : ''}`,
    async () => {
      const { errors, bytes, inputs } = await bundle(ALL, 'exports');
      expect(errors).toBe('');
      expect(bytes).toBeGreaterThan(0);
      // Node-only modules are looked for in the dist files' source maps (read, as this shows).
      expect(ourSources(inputs)).toContain('packages/train/src/procedure.ts');
      expect(nodeParts(inputs)).toEqual({ builtins: [], nodeOnly: [], disabled: [] });
      const files = Object.keys(inputs);
      expect(files).toEqual(expect.arrayContaining(ALL.map((n) => entryInput(n, 'dist'))));
      // Not a package's Node entry (what tsconfig paths or a missing browser condition would give).
      const nodeBuilt = ALL.map((n) => path.join('packages', n, exportOf(n, NODE)));
      const browserBuilt = new Set(ALL.map((n) => entryInput(n, 'dist')));
      expect(files.filter((f) => nodeBuilt.includes(f) && !browserBuilt.has(f))).toEqual([]);
      expect(files.filter((f) => f.startsWith('packages/') && f.includes('/src/'))).toEqual([]);
    },
  );
});
