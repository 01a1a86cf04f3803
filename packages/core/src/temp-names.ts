/** Names of the temporary files and folders an atomic write assembles (`<name>.tmp-<pid>-<time>-<random>`). */

/** Suffix of temporary names: `<pid>-<time base 36>-<random>`. */
export function tempSuffix(): string {
  return `${globalThis.process?.pid ?? 0}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** `<target>.tmp-<suffix>`: where `target` is assembled before it is renamed into place. */
export function tempPathFor(target: string): string {
  return `${target}.tmp-${tempSuffix()}`;
}

const TEMP_NAME = /^(.+)\.tmp-\d+(?:-[0-9a-z]+)*$/;

/**
 * The name a temporary file or folder made by `tempPathFor` (or an earlier `<name>.tmp-<pid>`)
 * stands for, e.g. `summary.json` for `summary.json.tmp-123-lz1k2-ab12cd`; undefined for any other name.
 */
export function tempTargetName(name: string): string | undefined {
  return TEMP_NAME.exec(name)?.[1];
}

