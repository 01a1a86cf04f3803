import path from 'node:path';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRegistry, findConfigFile, loadConfigFile, resolveConfig, SupconConfigError } from '../src';
import { labelsData, labelsDataPlugin } from './fixtures/labels-dataset';
import type { RunnerTask, SamplerPart } from '../src';
import { createRunner } from '../src';

const fixtures = path.join(__dirname, 'fixtures');

function batches(sampler: SamplerPart, n: number, epoch: number): number[][] {
  return [...sampler.epoch(new Int32Array(n), epoch)].map((b) => [...b]);
}

describe('loadConfigFile + third-party plugin', () => {
  it('loads a YAML config whose plugin is a relative path, and builds its sampler', async () => {
    const raw = await loadConfigFile(path.join(fixtures, 'configs/supcon.config.yaml'));
    const registry = createRegistry();
    const config = resolveConfig(raw, registry);
    expect(config.seed).toBe(7);
    expect(config.backend).toBe('auto');
    expect(config.train).toEqual({ epochs: 2, batchSize: 4, views: 2 });
    expect(config.plugins.map((p) => p.name)).toEqual(['supcon-plugin-ext']);
    expect(config.sampler).toEqual({ type: 'ext-sequential', alternate: true });
    expect(config.hooks).toEqual([{ type: 'ext-counter', label: 'ext' }]);
    expect(registry.list('sampler')).toEqual(['ext-sequential']);
    const sampler = await registry.build('sampler', config.sampler!, { rng: undefined as never, batchSize: config.train.batchSize });
    // 10 indices in batches of 4; odd epochs reversed (alternate: true)
    expect(batches(sampler, 10, 0)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(batches(sampler, 10, 1)).toEqual([[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]]);
    expect(sampler.batchesPerEpoch(new Int32Array(10))).toBe(3);
  });

  it('loads a JSON config naming the plugin folder, ignoring "$schema"', async () => {
    const raw = await loadConfigFile(path.join(fixtures, 'json/supcon.config.json'));
    const config = resolveConfig(raw, createRegistry());
    expect(config.name).toBe('json-run');
    expect(config.out).toBe('runs/json-run');
    expect(config.train).toEqual({ epochs: 1, batchSize: 6, views: 1 });
    expect(config.sampler).toEqual({ type: 'ext-sequential', batchSize: 3, alternate: false });
  });

  it('loads a TS config that imports the plugin (no build step)', async () => {
    const raw = await loadConfigFile(path.join(fixtures, 'ts/supcon.config.ts'));
    const registry = createRegistry();
    const config = resolveConfig(raw, registry);
    expect(config.seed).toBe(11);
    expect(config.backend).toBe('cpu');
    expect(config.hooks).toEqual([{ type: 'ext-counter', label: 'ts' }]);
    const hook = (await registry.build('hook', config.hooks[0], { rng: undefined as never })) as { calls: string[]; beforeRun(c: unknown): Promise<void> };
    const logged: unknown[] = [];
    await hook.beforeRun({ config, log: async (r: unknown) => void logged.push(r) });
    expect(hook.calls).toEqual(['ts:beforeRun']);
    expect(logged).toEqual([{ kind: 'ext', event: 'ts:beforeRun', seed: 11 }]);
  });

  it('resolves a bare plugin specifier from node_modules next to the config file (export `plugin`)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'supcon-bare-'));
    const pkg = path.join(dir, 'node_modules', 'supcon-plugin-bare');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'supcon-plugin-bare', type: 'module', exports: './index.js' }));
    writeFileSync(path.join(pkg, 'index.js'), "export const plugin = { name: 'bare', version: '0.0.1' };\n");
    writeFileSync(path.join(dir, 'supcon.config.yml'), 'plugins: [supcon-plugin-bare]\ntrain: { epochs: 1, batchSize: 2 }\n');
    const raw = await loadConfigFile(findConfigFile(dir)!);
    expect(raw.plugins).toEqual([{ name: 'bare', version: '0.0.1' }]);
  });

  it('calls (and awaits) a function export named `config`', async () => {
    const raw = await loadConfigFile(path.join(fixtures, 'fn/supcon.config.mjs'));
    expect(raw).toEqual({ seed: 5, train: { epochs: 2, batchSize: 4 } });
  });

  it('findConfigFile prefers .ts and returns undefined where there is none', () => {
    expect(findConfigFile(path.join(fixtures, 'ts'))).toBe(path.join(fixtures, 'ts/supcon.config.ts'));
    expect(findConfigFile(path.join(fixtures, 'configs'))).toBe(path.join(fixtures, 'configs/supcon.config.yaml'));
    expect(findConfigFile(path.join(fixtures, 'ext-plugin'))).toBeUndefined();
    const dir = mkdtempSync(path.join(tmpdir(), 'supcon-find-'));
    writeFileSync(path.join(dir, 'supcon.config.yml'), 'seed: 1\n');
    writeFileSync(path.join(dir, 'supcon.config.json'), '{}');
    expect(findConfigFile(dir)).toBe(path.join(dir, 'supcon.config.json'));
  });

  it('reports every unloadable plugin, a missing file and bad syntax with the file named', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'supcon-load-'));
    const file = path.join(dir, 'supcon.config.json');
    writeFileSync(file, JSON.stringify({ plugins: ['./nope.js', '../also-missing', './not-a-plugin.mjs'] }));
    writeFileSync(path.join(dir, 'not-a-plugin.mjs'), 'export const x = 1;\n');
    const error = await loadConfigFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SupconConfigError);
    const issues = (error as SupconConfigError).issues;
    expect(issues.map((i) => i.path)).toEqual(['plugins[0]', 'plugins[1]', 'plugins[2]']);
    expect(issues[0].message).toMatch(/^cannot load '\.\/nope\.js': /);
    expect(issues[2].message).toMatch(/exports no plugin object/);

    await expect(loadConfigFile(path.join(dir, 'missing.yaml'))).rejects.toThrow(/config file not found: .*missing\.yaml/);
    writeFileSync(path.join(dir, 'bad.yaml'), 'train: [1, 2\n');
    await expect(loadConfigFile(path.join(dir, 'bad.yaml'))).rejects.toThrow(/bad\.yaml[\s\S]*cannot read config/);
    writeFileSync(path.join(dir, 'list.yaml'), '- 1\n- 2\n');
    await expect(loadConfigFile(path.join(dir, 'list.yaml'))).rejects.toThrow(/expected the config to be an object/);
    writeFileSync(path.join(dir, 'supcon.config.toml'), 'seed = 1\n');
    await expect(loadConfigFile(path.join(dir, 'supcon.config.toml'))).rejects.toThrow(/unsupported extension '\.toml'/);
  });

  it('runs a YAML config whose sampler and hook come from the third-party plugin', async () => {
    const raw = await loadConfigFile(path.join(fixtures, 'configs/supcon.config.yaml'));
    const registry = createRegistry();
    const config = resolveConfig({ ...raw, plugins: [...((raw.plugins as unknown[]) ?? []), labelsDataPlugin], data: labelsData(new Int32Array(6)) }, registry);
    const seen: number[][] = [];
    const task: RunnerTask = {
      setup: () => undefined,
      step: (batch) => {
        seen.push([...batch]);
        return batch.reduce((a, b) => a + b, 0);
      },
      checkpoint: () => ({ state: { seen: seen.length } }),
    };
    const outDir = mkdtempSync(path.join(tmpdir(), 'supcon-ext-run-'));
    const summary = await createRunner(config, { registry, task, outDir, logger: { info: () => undefined, warn: () => undefined } }).run();
    // ext-sequential, batchSize 4 from train, reversed on odd epochs
    expect(seen).toEqual([[0, 1, 2, 3], [4, 5], [5, 4, 3, 2], [1, 0]]);
    expect(summary.epochLoss).toEqual([(6 + 9) / 2, (14 + 1) / 2]);
    const lines = readFileSync(path.join(outDir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'ext').map((l) => l.event)).toEqual(['ext:beforeRun', 'ext:afterEpoch:0', 'ext:afterEpoch:1', 'ext:afterRun']);
    expect(lines.filter((l) => l.kind === 'ext').every((l) => l.seed === 7)).toBe(true);
  });
});
