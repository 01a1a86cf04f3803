import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createJiti } from 'jiti';
import { parse as parseYaml } from 'yaml';
import { SupconConfigError } from './errors';
import type { ConfigIssue } from './errors';
import type { Plugin } from './plugin';

/** File names `findConfigFile` looks for, in order of preference. */
export const CONFIG_FILE_NAMES = [
  'supcon.config.ts',
  'supcon.config.mts',
  'supcon.config.mjs',
  'supcon.config.js',
  'supcon.config.json',
  'supcon.config.yaml',
  'supcon.config.yml',
] as const;

const SCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts', '.mjs', '.js', '.cjs'];

/**
 * The config file in `dir` (absolute path), or undefined when there is none. Looks for
 * `supcon.config.{ts,mts,mjs,js,json,yaml,yml}` in that order; does not search parent folders.
 */
export function findConfigFile(dir: string = process.cwd()): string | undefined {
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = path.resolve(dir, name);
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Picks the plugin out of a module namespace: `default`, then `plugin`, then the namespace itself. */
function pluginFromModule(mod: unknown): unknown {
  if (!isRecord(mod)) return mod;
  if (isRecord(mod.default) && typeof mod.default.name === 'string') return mod.default;
  if (isRecord(mod.plugin)) return mod.plugin;
  if (isRecord(mod.default) && isRecord(mod.default.default)) return mod.default.default;
  return typeof mod.name === 'string' ? mod : mod.default;
}

/**
 * A bare plugin specifier as a path: resolved from the config file's folder, else from
 * @supcon/core's own installation (a plugin installed next to the CLI), else from the current
 * folder's project. Unresolved, it is returned as it is (the import then says why it failed).
 */
function resolveBare(jiti: ReturnType<typeof createJiti>, specifier: string, configFile: string): string {
  const parents = [pathToFileURL(configFile).href, import.meta.url, pathToFileURL(path.join(process.cwd(), 'package.json')).href];
  for (const parentURL of parents) {
    const resolved = jiti.esmResolve(specifier, { parentURL, try: true });
    if (resolved) return resolved.startsWith('file:') ? fileURLToPath(resolved) : resolved;
  }
  return specifier;
}

/**
 * Reads a config file without a build step and returns the raw config, with every plugin given
 * as a module specifier replaced by the plugin object it exports (`default` or `plugin`).
 *
 * - `.ts`, `.mts`, `.mjs`, `.js` (and `.cts`, `.cjs`): loaded with jiti; the `default` export, or
 *   else the `config` export; a function export is called (and awaited) with no arguments.
 * - `.json`, `.yaml`, `.yml`: parsed; `plugins` must be module specifiers.
 *
 * Specifiers starting with `.` or `/` are resolved relative to the config file's folder; bare
 * ones (`supcon-plugin-foo`) are resolved from there like an import would be, then, when not
 * found there, from where @supcon/core is installed (next to the CLI) and from the current folder.
 *
 * The result is not validated yet: pass it to `resolveConfig` / `validateConfig`.
 * @throws SupconConfigError naming the file (missing, unparsable, no export) or the plugin
 *   (`plugins[1]: cannot load './x.js': ...`); every plugin problem is reported at once.
 */
export async function loadConfigFile(file: string): Promise<Record<string, unknown>> {
  const absolute = path.resolve(file);
  const source = path.relative(process.cwd(), absolute) || absolute;
  if (!existsSync(absolute)) throw new SupconConfigError([{ path: '(file)', message: `config file not found: ${absolute}` }], source);
  const ext = path.extname(absolute).toLowerCase();
  const jiti = createJiti(absolute, { interopDefault: false, moduleCache: false, fsCache: false });

  let raw: unknown;
  try {
    if (ext === '.json') {
      raw = JSON.parse(readFileSync(absolute, 'utf8'));
    } else if (ext === '.yaml' || ext === '.yml') {
      raw = parseYaml(readFileSync(absolute, 'utf8'));
    } else if (SCRIPT_EXTENSIONS.includes(ext)) {
      const mod = (await jiti.import(absolute)) as Record<string, unknown>;
      raw = mod.default !== undefined ? mod.default : mod.config;
      if (raw === undefined) {
        throw new Error(`it exports neither \`default\` nor \`config\` (exports: ${Object.keys(mod).join(', ') || 'none'})`);
      }
      if (typeof raw === 'function') raw = await (raw as () => unknown)();
    } else {
      throw new Error(`unsupported extension '${ext}': expected one of .ts, .mts, .mjs, .js, .json, .yaml, .yml`);
    }
  } catch (error) {
    if (error instanceof SupconConfigError) throw error;
    throw new SupconConfigError([{ path: '(file)', message: `cannot read config: ${message(error)}` }], source);
  }
  if (!isRecord(raw)) {
    const got = raw === null ? 'null' : raw === undefined ? 'nothing (an empty file?)' : Array.isArray(raw) ? 'a list (array)' : `a ${typeof raw}`;
    throw new SupconConfigError([{ path: '(root)', message: `expected the config to be an object (key: value, ...), got ${got}` }], source);
  }

  if (raw.plugins === undefined) return raw;
  if (!Array.isArray(raw.plugins)) {
    throw new SupconConfigError([{ path: 'plugins', message: 'expected an array of plugins or module specifiers' }], source);
  }
  const issues: ConfigIssue[] = [];
  const plugins: unknown[] = [];
  for (const [i, entry] of raw.plugins.entries()) {
    if (typeof entry !== 'string') {
      plugins.push(entry);
      continue;
    }
    const specifier = entry.startsWith('.') || path.isAbsolute(entry) ? path.resolve(path.dirname(absolute), entry) : resolveBare(jiti, entry, absolute);
    try {
      const plugin = pluginFromModule(await jiti.import(specifier));
      if (!isRecord(plugin) || typeof plugin.name !== 'string') {
        throw new Error('the module exports no plugin object (expected `export default definePlugin({...})` or `export const plugin`)');
      }
      plugins.push(plugin as Plugin);
    } catch (error) {
      issues.push({ path: `plugins[${i}]`, message: `cannot load '${entry}': ${message(error)}` });
    }
  }
  if (issues.length) throw new SupconConfigError(issues, source);
  return { ...raw, plugins };
}
