import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { configJsonSchema, createRegistry, defineConfig, createDefineConfig, defineFactory, definePlugin, loadConfigFile, resolveConfig, SupconConfigError, validateConfig } from '../src';
import type { LossPart, Plugin } from '../src';

const lossPart: LossPart = { input: 'embeddings', supervised: true, compute: () => undefined as never };

const testPlugin = definePlugin({
  name: 'test-parts',
  losses: {
    'supcon-out': defineFactory({
      schema: z.object({ temperature: z.number().positive().default(0.1), views: z.number().int().optional() }),
      description: 'SupCon with the sum outside the log',
      create: () => lossPart,
    }),
    'supcon-in': defineFactory({ schema: z.object({ temperature: z.number().positive().default(0.1) }), create: () => lossPart }),
  },
  datasets: {
    mnist: defineFactory({ schema: z.object({ root: z.string(), subset: z.number().int().positive().optional() }), create: () => ({ load: async () => undefined as never }) }),
  },
  evaluators: {
    knn: defineFactory({ schema: z.object({ k: z.number().int().positive().default(20) }), create: () => ({ key: 'knn', evaluate: async () => ({}) }) }),
  },
  backbones: {
    'small-cnn': defineFactory({ schema: z.object({ width: z.number().int().positive().default(32) }), create: () => undefined as never }),
  },
});

const minimal = { train: { epochs: 2, batchSize: 8 } };

describe('validateConfig / resolveConfig', () => {
  it('fills in the documented defaults and each part\'s schema defaults', () => {
    const config = resolveConfig({ ...minimal, plugins: [testPlugin], loss: { type: 'supcon-out' }, eval: [{ type: 'knn' }] }, createRegistry());
    expect(config).toEqual({
      seed: 0,
      backend: 'auto',
      threads: 'auto',
      plugins: [testPlugin],
      loss: { type: 'supcon-out', temperature: 0.1 },
      train: { epochs: 2, batchSize: 8, views: 2 },
      eval: [{ type: 'knn', k: 20 }],
      hooks: [],
      out: 'runs/run',
    });
  });

  it("threads: 'auto' or an integer from 1 to 8, with the config path in the error", () => {
    expect(resolveConfig({ ...minimal, threads: 2 }, createRegistry()).threads).toBe(2);
    const expected: [unknown, string][] = [
      [0, 'expected a number >= 1, got 0'],
      [9, 'expected a number <= 8, got 9'],
      [1.5, "expected 'auto' or an integer from 1 to 8, got 1.5"],
      ['many', `expected 'auto' or an integer from 1 to 8, got "many"`],
    ];
    for (const [bad, message] of expected) {
      const result = validateConfig({ ...minimal, threads: bad }, createRegistry());
      expect(result.success ? [] : result.issues).toEqual([{ path: 'threads', message }]);
    }
  });

  it('takes part defaults from the caller; a part the config names replaces the default whole', () => {
    const registry = createRegistry([testPlugin]);
    const defaults = { backbone: { type: 'small-cnn' }, loss: { type: 'supcon-in', temperature: 0.5 }, train: { epochs: 10, views: 4 } };
    const config = resolveConfig({ loss: { type: 'supcon-out' }, train: { batchSize: 16 } }, registry, { defaults });
    expect(config.backbone).toEqual({ type: 'small-cnn', width: 32 });
    expect(config.loss).toEqual({ type: 'supcon-out', temperature: 0.1 });
    expect(config.train).toEqual({ epochs: 10, batchSize: 16, views: 4 });
  });

  it('reports every problem at once, each naming its path and reason', () => {
    const registry = createRegistry([testPlugin]);
    const result = validateConfig(
      {
        seed: 1.5,
        backend: 'gpu',
        data: { type: 'mnist', subset: 'all' },
        loss: { type: 'supcon-otu' },
        train: { epochs: -3, batchSize: 8 },
        eval: [{ type: 'knn', k: 0 }, { type: 'knnn' }, 'knn'],
        lozz: {},
      },
      registry,
    );
    expect(result.success).toBe(false);
    if (result.success) return;
    const byPath = Object.fromEntries(result.issues.map((i) => [i.path, i.message]));
    expect(byPath).toEqual({
      lozz: expect.stringMatching(/^unknown config key\. Did you mean 'loss'\?/),
      seed: 'expected an integer, got 1.5',
      backend: 'expected one of "auto", "tensorflow-gpu", "tensorflow", "wasm", "cpu", "webgl", "webgpu", got "gpu"',
      'train.epochs': 'expected a positive integer, got -3',
      'data.root': 'expected string, got nothing',
      'data.subset': 'expected number, got "all"',
      'loss.type': "unknown loss 'supcon-otu'. Did you mean 'supcon-out'? Known loss types: supcon-in, supcon-out",
      'eval[0].k': 'expected a positive integer, got 0',
      'eval[1].type': "unknown evaluator 'knnn'. Did you mean 'knn'? Known evaluator types: knn",
      'eval[2]': 'expected an evaluator config { type, ...options }, got "knn"',
    });
    expect(() => resolveConfig({ loss: { type: 'supcon-otu' }, train: { epochs: -3, batchSize: 8 } }, registry, { source: 'supcon.config.yaml' })).toThrow(
      new SupconConfigError([
        { path: 'train.epochs', message: 'expected a positive integer, got -3' },
        { path: 'loss.type', message: "unknown loss 'supcon-otu'. Did you mean 'supcon-out'? Known loss types: supcon-in, supcon-out" },
      ], 'supcon.config.yaml'),
    );
  });

  it('rejects unknown options with a suggestion, a missing type, and a missing train section', () => {
    const registry = createRegistry([testPlugin]);
    const result = validateConfig({ loss: { type: 'supcon-out', temprature: 0.2 }, backbone: { width: 3 } }, registry);
    expect(result).toEqual({
      success: false,
      issues: [
        { path: 'train', message: 'expected { epochs, batchSize, views?, memory? }, got nothing' },
        { path: 'backbone.type', message: 'expected a backbone type name, got nothing. Known backbone types: small-cnn' },
        { path: 'loss.temprature', message: "unknown option of loss 'supcon-out'. Did you mean 'temperature'? Its options: temperature, views" },
      ],
    });
  });

  it('registers the config\'s plugin objects, reports string plugins it cannot import and name clashes', () => {
    const registry = createRegistry();
    const clash: Plugin = { name: 'other', losses: { 'supcon-out': testPlugin.losses['supcon-out'] } };
    const result = validateConfig({ ...minimal, plugins: [testPlugin, './x.js', 42, clash] }, registry);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues.map((i) => i.path)).toEqual(['plugins[1]', 'plugins[2]', 'plugins[3]']);
    expect(result.issues[0].message).toMatch(/module specifier '.\/x.js' was not loaded/);
    expect(result.issues[1].message).toBe('expected a plugin object with a string `name`, got 42');
    expect(result.issues[2].message).toMatch(/loss 'supcon-out' is registered twice: by plugin 'test-parts' and by plugin 'other'/);
    expect(registry.list('loss')).toEqual(['supcon-in', 'supcon-out']);
    // a plugin already registered (same name) is not registered again
    expect(validateConfig({ ...minimal, plugins: [testPlugin] }, registry).success).toBe(true);
  });

  it('rejects a non-object config', () => {
    expect(validateConfig([1], createRegistry())).toEqual({ success: false, issues: [{ path: '(root)', message: 'expected a config object, got a list (array)' }] });
  });
});

describe('defineConfig / createDefineConfig', () => {
  it('are identities at run time (types are checked by config.typetest.ts)', () => {
    const config = { plugins: [testPlugin], loss: { type: 'supcon-out' as const, temperature: 0.2 } };
    expect(defineConfig(config)).toBe(config);
    const define = createDefineConfig([testPlugin]);
    const c2 = { loss: { type: 'supcon-in' as const } };
    expect(define(c2)).toBe(c2);
  });
});

describe('configJsonSchema', () => {
  it('makes each part a oneOf over registered types, with options, defaults and the type as a const', () => {
    const schema = configJsonSchema(createRegistry([testPlugin])) as any;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['train']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(
      ['$schema', 'augment', 'backbone', 'backend', 'data', 'eval', 'head', 'hooks', 'loss', 'name', 'optimizer', 'out', 'plugins', 'sampler', 'schedule', 'seed', 'threads', 'train', 'checkpoint'].sort(),
    );
    const loss = schema.properties.loss.oneOf;
    expect(loss.map((s: any) => s.properties.type.const)).toEqual(['supcon-in', 'supcon-out']);
    expect(loss[1]).toMatchObject({
      type: 'object',
      description: 'SupCon with the sum outside the log',
      required: ['type'],
      additionalProperties: false,
      properties: { temperature: { type: 'number', exclusiveMinimum: 0, default: 0.1 } },
    });
    expect(schema.properties.data.oneOf[0].required).toEqual(['type', 'root']);
    expect(schema.properties.eval).toMatchObject({ type: 'array', items: { oneOf: [{ properties: { type: { const: 'knn' } } }] } });
    expect(schema.properties.backend.enum).toEqual(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'webgl', 'webgpu']);
    expect(schema.properties.train.properties.epochs).toMatchObject({ type: 'integer', exclusiveMinimum: 0 });
    expect(schema.properties.train.required).toEqual(['epochs', 'batchSize']);
    expect(schema.properties.sampler).toEqual({ type: 'object', properties: { type: { type: 'string' } }, required: ['type'] });
    // train values the caller's defaults supply are not required of the file
    const relaxed = configJsonSchema(createRegistry([testPlugin]), { defaults: { train: { epochs: 10 } } }) as any;
    expect(relaxed.properties.train.required).toEqual(['batchSize']);
    const none = configJsonSchema(createRegistry([testPlugin]), { defaults: { train: { epochs: 10, batchSize: 8 } } }) as any;
    expect(none.required).toBeUndefined();
    expect(none.properties.train.required).toBeUndefined();
  });
});

describe('train.memory', () => {
  const issuesOf = (memory: unknown) => {
    const result = validateConfig({ train: { ...minimal.train, memory } }, createRegistry());
    return result.success ? [] : result.issues;
  };

  it('takes a size and an optional momentum in [0, 1)', () => {
    for (const memory of [{ size: 0 }, { size: 64 }, { size: 64, momentum: 0 }, { size: 64, momentum: 0.999 }]) {
      expect(resolveConfig({ train: { ...minimal.train, memory } }, createRegistry()).train.memory).toEqual(memory);
    }
  });

  it('refuses a momentum outside [0, 1), or without a bank to fill, naming train.memory.momentum', () => {
    const range = 'expected a number from 0 up to (not including) 1';
    expect(issuesOf({ size: 64, momentum: 1 })).toEqual([{ path: 'train.memory.momentum', message: `${range}, got 1` }]);
    expect(issuesOf({ size: 64, momentum: -0.1 })).toEqual([{ path: 'train.memory.momentum', message: `${range}, got -0.1` }]);
    expect(issuesOf({ size: 64, momentum: '0.9' })).toEqual([{ path: 'train.memory.momentum', message: `${range}, got "0.9"` }]);
    const noBank = 'a momentum key encoder fills the memory bank: it needs train.memory.size > 0, got';
    expect(issuesOf({ size: 0, momentum: 0.9 })).toEqual([{ path: 'train.memory.momentum', message: `${noBank} size 0` }]);
    // No size: both are named, the missing size and the momentum that needs it.
    expect(issuesOf({ momentum: 0.9 })).toEqual([
      { path: 'train.memory.size', message: 'expected an integer >= 0, got nothing' },
      { path: 'train.memory.momentum', message: `${noBank} no size` },
    ]);
  });

  it('is in the JSON Schema with its bounds', () => {
    const schema = configJsonSchema(createRegistry()) as { properties: { train: { properties: { memory: { properties: Record<string, unknown> } } } } };
    expect(schema.properties.train.properties.memory.properties.momentum).toMatchObject({ type: 'number', minimum: 0, exclusiveMaximum: 1 });
  });
});

describe('messages for common mistakes', () => {
  const strictPlugin = definePlugin({
    name: 'strict-parts',
    losses: { 'supcon-out': defineFactory({ schema: z.strictObject({ temperature: z.number().positive().default(0.1) }), create: () => lossPart }) },
  });

  it('names an unknown key inside train by its path, with a suggestion', () => {
    const result = validateConfig({ train: { epochz: 2, batchSize: 8 } }, createRegistry());
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues).toContainEqual({ path: 'train.epochz', message: "unknown train key. Did you mean 'epochs'? Known keys: epochs, batchSize, views, memory" });
    expect(result.issues).toContainEqual({ path: 'train.epochs', message: 'expected a positive integer, got nothing' });
    expect(result.issues.map((i) => i.path)).not.toContain('train');
  });

  it('says what train is when it is not an object', () => {
    const result = validateConfig({ train: [1, 2] }, createRegistry());
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues).toEqual([{ path: 'train', message: 'expected { epochs, batchSize, views?, memory? }, got a list (array)' }]);
  });

  it('reports an unknown option of a strict part schema once', () => {
    const result = validateConfig({ ...minimal, loss: { type: 'supcon-out', temprature: 0.1 } }, createRegistry([strictPlugin]));
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues).toEqual([{ path: 'loss.temprature', message: "unknown option of loss 'supcon-out'. Did you mean 'temperature'? Its options: temperature" }]);
  });

  it('says "a list" for a config file that is a YAML list', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'supcon-config-'));
    try {
      const file = path.join(dir, 'list.yaml');
      writeFileSync(file, '- data: { type: mnist }\n- train: { epochs: 1 }\n');
      const error = await loadConfigFile(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SupconConfigError);
      expect((error as SupconConfigError).issues).toEqual([{ path: '(root)', message: 'expected the config to be an object (key: value, ...), got a list (array)' }]);
      expect(validateConfig([], createRegistry())).toEqual({ success: false, issues: [{ path: '(root)', message: 'expected a config object, got a list (array)' }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
