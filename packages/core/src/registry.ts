import type { z } from 'zod';
import { closestMatch } from './closest';
import { PART_KINDS, PLUGIN_KEYS } from './parts';
import type { BuildContext, PartKind, PartTypes } from './parts';
import type { Factory, Plugin } from './plugin';
import { formatIssues, SupconConfigError } from './errors';

/** A registered factory and the plugin that provided it. */
export interface RegistryEntry<K extends PartKind = PartKind> {
  readonly kind: K;
  readonly name: string;
  readonly plugin: string;
  readonly factory: Factory<z.ZodType, PartTypes[K]>;
}

export interface UseOptions {
  /** Replace entries another plugin already registered under the same names. */
  override?: boolean;
}

/** `{ type, ...options }` as found in a config. */
export interface PartConfig {
  type: string;
  [option: string]: unknown;
}

export interface Registry {
  /** Registers every factory of a plugin. Throws on a name another plugin holds, unless `override`. */
  use(plugin: Plugin, options?: UseOptions): Registry;
  /** The entry for `name`; throws listing known names and the closest match when absent. */
  get<K extends PartKind>(kind: K, name: string): RegistryEntry<K>;
  has(kind: PartKind, name: string): boolean;
  /** Registered names of a kind, sorted. */
  list(kind: PartKind): string[];
  /** Registered plugins in registration order. */
  plugins(): readonly Plugin[];
  /**
   * Validates `config`'s options against the factory's schema (errors name `path.option`) and
   * creates the part. `path` is the config path used in error messages (default: the kind).
   */
  build<K extends PartKind>(kind: K, config: PartConfig, context: BuildContext, path?: string): Promise<PartTypes[K]>;
}

/** The plugin interface versions this registry implements (`Plugin.specificationVersion`). */
export const SPECIFICATION_VERSIONS: readonly string[] = ['v1'];

/** Thrown for duplicate or unknown plugin names, and plugins of another interface version. */
export class SupconRegistryError extends Error {
  override name = 'SupconRegistryError';
}

class RegistryImpl implements Registry {
  private readonly entries = new Map<PartKind, Map<string, RegistryEntry>>(
    PART_KINDS.map((k) => [k, new Map<string, RegistryEntry>()]),
  );
  private readonly registered: Plugin[] = [];

  use(plugin: Plugin, options: UseOptions = {}): Registry {
    if (!plugin || typeof plugin !== 'object' || typeof plugin.name !== 'string' || plugin.name === '') {
      throw new SupconRegistryError('registry.use: a plugin must be an object with a non-empty string `name`');
    }
    const spec = (plugin as { specificationVersion?: unknown }).specificationVersion;
    if (spec !== undefined && !SPECIFICATION_VERSIONS.includes(spec as string)) {
      throw new SupconRegistryError(
        `plugin '${plugin.name}': specificationVersion ${JSON.stringify(spec)} is not one this @supcon/core implements (${SPECIFICATION_VERSIONS.map((v) => `'${v}'`).join(', ')}): ` +
          'the plugin was written for another version of supcon; upgrade @supcon/core or use a version of the plugin made for it',
      );
    }
    const pending: RegistryEntry[] = [];
    for (const kind of PART_KINDS) {
      const map = (plugin as Record<string, unknown>)[PLUGIN_KEYS[kind]] as Record<string, Factory> | undefined;
      if (map === undefined) continue;
      for (const [name, factory] of Object.entries(map)) {
        if (!factory || typeof factory.create !== 'function' || !factory.schema || typeof factory.schema.safeParse !== 'function') {
          throw new SupconRegistryError(
            `plugin '${plugin.name}': ${PLUGIN_KEYS[kind]}.${name} must be a factory { schema: <zod schema>, create(options, context) }`,
          );
        }
        const existing = this.entries.get(kind)!.get(name);
        if (existing && !options.override) {
          throw new SupconRegistryError(
            `${kind} '${name}' is registered twice: by plugin '${existing.plugin}' and by plugin '${plugin.name}'. ` +
              `Rename one, or register the second with { override: true } to replace the first.`,
          );
        }
        pending.push({ kind, name, plugin: plugin.name, factory: factory as RegistryEntry['factory'] });
      }
    }
    // All-or-nothing: a plugin with a conflict registers none of its entries.
    for (const entry of pending) this.entries.get(entry.kind)!.set(entry.name, entry);
    this.registered.push(plugin);
    return this;
  }

  has(kind: PartKind, name: string): boolean {
    return this.entries.get(kind)?.has(name) ?? false;
  }

  get<K extends PartKind>(kind: K, name: string): RegistryEntry<K> {
    const byName = this.entries.get(kind);
    if (!byName) throw new SupconRegistryError(`unknown kind '${kind}': expected one of ${PART_KINDS.join(', ')}`);
    const entry = byName.get(name);
    if (!entry) {
      const known = this.list(kind);
      const suggestion = closestMatch(name, known);
      throw new SupconRegistryError(
        `unknown ${kind} '${name}'.` +
          (suggestion ? ` Did you mean '${suggestion}'?` : '') +
          (known.length ? ` Known ${kind} types: ${known.join(', ')}.` : ` No ${kind} types are registered: add a plugin that provides one.`),
      );
    }
    return entry as unknown as RegistryEntry<K>;
  }

  list(kind: PartKind): string[] {
    return [...(this.entries.get(kind)?.keys() ?? [])].sort();
  }

  plugins(): readonly Plugin[] {
    return this.registered;
  }

  async build<K extends PartKind>(kind: K, config: PartConfig, context: BuildContext, path: string = kind): Promise<PartTypes[K]> {
    if (!config || typeof config !== 'object' || typeof config.type !== 'string') {
      throw new SupconConfigError([{ path: `${path}.type`, message: `expected a ${kind} type name (string), got ${JSON.stringify(config?.type)}` }]);
    }
    const entry = this.get(kind, config.type);
    const { type: _type, ...options } = config;
    const parsed = entry.factory.schema.safeParse(options);
    if (!parsed.success) throw new SupconConfigError(formatIssues(parsed.error.issues, path, options, entry.factory.schema));
    return entry.factory.create(parsed.data, context);
  }
}

/** A new, empty-or-seeded registry. Registries are instances: there is no global one. */
export function createRegistry(plugins: readonly Plugin[] = []): Registry {
  const registry = new RegistryImpl();
  for (const plugin of plugins) registry.use(plugin);
  return registry;
}
