import type { z } from 'zod';
import type { BuildContext, PartKind, PartTypes, PluginKey, PLUGIN_KEYS } from './parts';

/**
 * Builds one part from validated options. `schema` is a zod schema of the options (without
 * `type`); its defaults are applied before `create` runs.
 */
export interface Factory<S extends z.ZodType = z.ZodType, T = unknown> {
  readonly schema: S;
  /** One line shown by `supcon doctor` and in errors. */
  readonly description?: string;
  create(options: z.output<S>, context: BuildContext): T | Promise<T>;
}

/** Identity that infers a factory's option types from its schema. */
export function defineFactory<S extends z.ZodType, T>(factory: Factory<S, T>): Factory<S, T> {
  return factory;
}

type FactoryMap<K extends PartKind> = Record<string, Factory<z.ZodType, PartTypes[K]>>;

/**
 * A plugin is a plain object: a name, a version, and for each kind of part a map from the
 * `type` name used in configs to its factory. Placing it in a config's `plugins` list, or passing
 * it to `registry.use()`, registers it; importing it registers nothing.
 */
export type Plugin = {
  readonly name: string;
  readonly version?: string;
  /**
   * The plugin interface it was written for; `registry.use()` refuses a version it does not
   * implement (`SPECIFICATION_VERSIONS`), with an error naming the plugin, rather than failing later
   * in a factory. Absent: the current one.
   */
  readonly specificationVersion?: 'v1';
} & { readonly [K in PartKind as (typeof PLUGIN_KEYS)[K]]?: FactoryMap<K> };

/** Identity that keeps the literal `type` names and option schemas of a plugin for `defineConfig`. */
export function definePlugin<const P extends Plugin>(plugin: P): P {
  return plugin;
}

/** The plugin object key that holds factories of kind K. */
export type KeyOf<K extends PartKind> = (typeof PLUGIN_KEYS)[K];
export type { PluginKey };
