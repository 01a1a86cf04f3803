/**
 * Finding the optional backend packages in Node: next to @supcon/backends (where the app or the
 * CLI that depends on it installed its peers), then in the current folder's project (a backend a
 * user installed in their own project, e.g. for a globally installed CLI).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { isNotFound } from '../names';

/** `require` relative to this package's own installation. */
function ownRequire(): NodeJS.Require {
  // CommonJS (the CJS build, jest) has a `module` with its own `require`, which resolves from
  // this file (and, under jest, goes through its module registry, so the backends register on
  // the same tfjs-core). In ESM (`module` is undefined) one is made for this file's URL.
  // `module.require` rather than `require`: bundlers rewrite bare `require` in ESM output into a
  // stub that throws. Never a static import, so bundlers leave these packages alone.
  const cjsModule =
    typeof module === 'object' && module !== null ? (module as { require?: unknown }) : undefined;
  if (typeof cjsModule?.require === 'function') {
    const req = cjsModule.require.bind(cjsModule) as (id: string) => unknown;
    return req as NodeJS.Require;
  }
  return createRequire(import.meta.url);
}

/** The places packages are looked for, in order. */
function requirers(): NodeJS.Require[] {
  return [ownRequire(), createRequire(path.join(process.cwd(), 'package.json'))];
}

/** Requires `specifier` from the first place in {@link requirers} that has it. */
export function requireOptional(specifier: string): unknown {
  let notFound: unknown;
  for (const req of requirers()) {
    try {
      return req(specifier);
    } catch (error) {
      // A package that is there but fails to load (or misses one of its own dependencies) is
      // reported as it is; only "this package is not here" moves on to the next place.
      if (!isNotFound(error, specifier)) throw error;
      notFound ??= error;
    }
  }
  throw notFound;
}

/** Resolves `specifier` to a file path, from the same places as {@link requireOptional}. */
export function resolveOptional(specifier: string): string {
  let notFound: unknown;
  for (const base of [import.meta.url, path.join(process.cwd(), 'package.json')]) {
    try {
      return createRequire(base).resolve(specifier);
    } catch (error) {
      if (!isNotFound(error, specifier)) throw error;
      notFound ??= error;
    }
  }
  throw notFound;
}
