/**
 * Every part package bundles for browsers: esbuild (`platform: 'browser'`, as
 * `esbuild --bundle --platform=browser` does) on an entry that imports @supcon/core and the parts
 * losses, augment, samplers, optim, eval, backbones and data, each one alone and all together.
 * Bundling fails on any `node:` module, `fs`, `path` and the like that a browser build reaches.
 * (backends, train and cli are left out here: they become browser-ready in their own change.)
 *
 * `@supcon/*` imports resolve as a bundler resolves the published package: through the package's
 * `exports` map with the conditions `browser`, `import`, `default`, in the map's order, to a file
 * of dist/, which is then read from src/ (tsup builds `dist/NAME.js` from `src/NAME.ts`). So the
 * test needs no build, and checks the export conditions as well as the sources. A second test
 * bundles the built dist/ files themselves where they are all newer than their sources.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import type { Message, Plugin } from 'esbuild';

const root = path.resolve(__dirname, '../..');
const PACKAGES = ['core', 'losses', 'augment', 'samplers', 'optim', 'eval', 'backbones', 'data'];
const CONDITIONS = new Set(['browser', 'import', 'default']);

type Exports = string | { [condition: string]: Exports } | null | undefined;

/** The target of an exports entry for `CONDITIONS` (Node's algorithm: the first matching key in order). */
export function exportTarget(entry: Exports): string | undefined {
  if (typeof entry === 'string') return entry;
  if (entry === null || entry === undefined) return undefined;
  for (const [condition, value] of Object.entries(entry)) {
    if (!CONDITIONS.has(condition)) continue;
    const target = exportTarget(value);
    if (target !== undefined) return target;
  }
  return undefined;
}

function manifest(name: string): { exports?: Record<string, Exports> } {
  return JSON.parse(readFileSync(path.join(root, 'packages', name, 'package.json'), 'utf8')) as {
    exports?: Record<string, Exports>;
  };
}

/** The file a browser bundler takes for `@supcon/<name>`: `./dist/x.js`. */
function browserTarget(name: string): string {
  const target = exportTarget(manifest(name).exports?.['.']);
  if (target === undefined)
    throw new Error(`packages/${name}/package.json: no export for the browser conditions`);
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
        const target = browserTarget(name);
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

/** Bundles an entry importing `names` for browsers; resolves to esbuild's errors, one a line ('' when none). */
async function bundle(
  names: string[],
  from: 'src' | 'dist',
): Promise<{ errors: string; bytes: number }> {
  const contents = [
    ...names.map((n, i) => `import * as p${i} from '@supcon/${n}';`),
    `export const parts = [${names.map((_, i) => `p${i}`).join(', ')}];`,
  ].join('\n');
  try {
    const result = await build({
      stdin: { contents, resolveDir: root, sourcefile: 'browser-entry.js', loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      plugins: [supconPackages(from)],
    });
    return { errors: format(result.errors), bytes: result.outputFiles[0]!.contents.length };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (errors) return { errors: format(errors), bytes: 0 };
    throw e;
  }
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

/** Why the dist/ files cannot stand for the sources (missing or older), or null when they can. */
function staleDist(): string | null {
  for (const name of PACKAGES) {
    const dir = path.join(root, 'packages', name);
    const file = path.join(dir, browserTarget(name));
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

describe('the part packages bundle for browsers (esbuild, platform browser)', () => {
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
  });

  it.each(PACKAGES)('@supcon/%s alone', async (name) => {
    const { errors, bytes } = await bundle([name], 'src');
    expect(errors).toBe('');
    expect(bytes).toBeGreaterThan(0);
  });

  it('all of them in one bundle', async () => {
    expect((await bundle(PACKAGES, 'src')).errors).toBe('');
  });

  const stale = staleDist();
  (stale ? it.skip : it)(
    `the built dist/ files too${stale ? ` (skipped: ${stale})` : ''}`,
    async () => {
      expect((await bundle(PACKAGES, 'dist')).errors).toBe('');
    },
  );
});
