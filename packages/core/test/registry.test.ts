import { z } from 'zod';
import { createRegistry, defineFactory, definePlugin, SupconConfigError, SupconRegistryError } from '../src';
import type { LossPart, Plugin } from '../src';
import * as core from '../src';

const part = (tag: string): LossPart & { tag: string } => ({ tag, input: 'embeddings', supervised: true, compute: () => undefined as never });

const alpha = definePlugin({
  name: 'alpha',
  version: '1.0.0',
  losses: {
    'supcon-out': defineFactory({
      schema: z.object({ temperature: z.number().positive().default(0.1), views: z.number().int().positive().optional() }),
      create: (o, ctx) => ({ ...part('alpha'), temperature: o.temperature, views: o.views, seenBackend: ctx.backend }),
    }),
    'supcon-in': defineFactory({ schema: z.object({}), create: () => part('alpha-in') }),
  },
  samplers: {
    random: defineFactory({ schema: z.object({ dropLast: z.boolean().default(true) }), create: () => ({ epoch: () => [], batchesPerEpoch: () => 0 }) }),
  },
});

const beta: Plugin = {
  name: 'beta',
  losses: {
    'supcon-out': defineFactory({ schema: z.object({}), create: () => part('beta') }),
    triplet: defineFactory({ schema: z.object({ margin: z.number() }), create: () => part('beta-triplet') }),
  },
};

const ctx = { rng: core.createRng(0), backend: 'cpu' };

describe('registry', () => {
  it('importing @supcon/core registers nothing: a new registry is empty', () => {
    const registry = createRegistry();
    for (const kind of core.PART_KINDS) expect(registry.list(kind)).toEqual([]);
    expect(registry.plugins()).toEqual([]);
    // and registries are independent instances
    createRegistry([alpha]);
    expect(createRegistry().list('loss')).toEqual([]);
  });

  it('lists names per kind, sorted, and plugins in registration order', () => {
    const registry = createRegistry([alpha]);
    expect(registry.list('loss')).toEqual(['supcon-in', 'supcon-out']);
    expect(registry.list('sampler')).toEqual(['random']);
    expect(registry.list('backbone')).toEqual([]);
    expect(registry.has('loss', 'supcon-in')).toBe(true);
    expect(registry.has('sampler', 'supcon-in')).toBe(false);
    expect(registry.get('loss', 'supcon-out').plugin).toBe('alpha');
    registry.use({ name: 'gamma', backbones: { mlp: defineFactory({ schema: z.object({}), create: () => undefined as never }) } });
    expect(registry.plugins().map((p) => p.name)).toEqual(['alpha', 'gamma']);
  });

  it('a duplicate name is an error naming both plugins, and registers none of the second plugin', () => {
    const registry = createRegistry([alpha]);
    expect(() => registry.use(beta)).toThrow(SupconRegistryError);
    expect(() => registry.use(beta)).toThrow(
      "loss 'supcon-out' is registered twice: by plugin 'alpha' and by plugin 'beta'. Rename one, or register the second with { override: true } to replace the first.",
    );
    expect(registry.has('loss', 'triplet')).toBe(false); // all-or-nothing
    expect(registry.plugins().map((p) => p.name)).toEqual(['alpha']);
  });

  it('override replaces the earlier entry', async () => {
    const registry = createRegistry([alpha]).use(beta, { override: true });
    expect(registry.get('loss', 'supcon-out').plugin).toBe('beta');
    expect(registry.get('loss', 'supcon-in').plugin).toBe('alpha');
    expect(((await registry.build('loss', { type: 'supcon-out' }, ctx)) as unknown as { tag: string }).tag).toBe('beta');
  });

  it('an unknown name lists the known names and the closest match', () => {
    const registry = createRegistry([alpha, { name: 'b2', losses: { triplet: beta.losses!.triplet } }]);
    expect(() => registry.get('loss', 'supcon-otu')).toThrow("unknown loss 'supcon-otu'. Did you mean 'supcon-out'? Known loss types: supcon-in, supcon-out, triplet.");
    expect(() => registry.get('loss', 'cross-entropy')).toThrow("unknown loss 'cross-entropy'. Known loss types: supcon-in, supcon-out, triplet.");
    expect(() => registry.get('backbone', 'resnet18')).toThrow("unknown backbone 'resnet18'. No backbone types are registered: add a plugin that provides one.");
    expect(() => registry.get('lossy' as never, 'x')).toThrow(/unknown kind 'lossy': expected one of loss, backbone/);
  });

  it('rejects malformed plugins and factories, naming the plugin and entry', () => {
    const registry = createRegistry();
    expect(() => registry.use({ name: '' })).toThrow('registry.use: a plugin must be an object with a non-empty string `name`');
    expect(() => registry.use({ name: 'bad', losses: { x: { create: () => part('x') } as never } })).toThrow(
      "plugin 'bad': losses.x must be a factory { schema: <zod schema>, create(options, context) }",
    );
  });

  it('build validates options (errors name kind.option or the given path), applies defaults, passes the context', async () => {
    const registry = createRegistry([alpha]);
    const built = (await registry.build('loss', { type: 'supcon-out' }, ctx)) as unknown as { temperature: number; seenBackend: string };
    expect(built.temperature).toBe(0.1);
    expect(built.seenBackend).toBe('cpu');
    const err = await registry.build('loss', { type: 'supcon-out', temperature: -1, views: 1.5 }, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SupconConfigError);
    expect((err as SupconConfigError).issues).toEqual([
      { path: 'loss.temperature', message: 'expected a positive number, got -1' },
      { path: 'loss.views', message: 'expected an integer, got 1.5' },
    ]);
    await expect(registry.build('loss', { type: 'supcon-out', views: 0 }, ctx, 'pretrain.loss')).rejects.toThrow('pretrain.loss.views: expected a positive integer, got 0');
    await expect(registry.build('sampler', { type: 'random', dropLast: 'yes' }, ctx)).rejects.toThrow('sampler.dropLast: expected boolean, got "yes"');
    await expect(registry.build('loss', { temperature: 1 } as never, ctx)).rejects.toThrow('loss.type: expected a loss type name (string), got undefined');
  });
  it('use() checks specificationVersion: v1 or absent is taken, another is refused naming the plugin', () => {
    expect(() => createRegistry().use({ name: 'old', specificationVersion: 'v1' })).not.toThrow();
    expect(() => createRegistry().use({ name: 'unversioned' })).not.toThrow();
    const registry = createRegistry();
    expect(() => registry.use({ name: 'future', specificationVersion: 'v2' } as unknown as Plugin)).toThrow(
      "plugin 'future': specificationVersion \"v2\" is not one this @supcon/core implements ('v1')",
    );
    // Nothing of it was registered.
    expect(registry.plugins()).toEqual([]);
  });
});
