import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readJson, writeJson } from '@nx/devkit';
import type { Tree } from '@nx/devkit';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require('../generators/plugin-package/index.cjs') as (
  tree: Tree,
  options: {
    name: string;
    kind?: string;
    directory?: string;
    description?: string;
    external?: boolean;
    scope?: string;
  },
) => Promise<() => void>;

function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  writeJson(tree, 'package.json', {
    name: 'ws',
    private: true,
    devDependencies: { '@tensorflow/tfjs-core': '^4.22.0', zod: '^4.6.7' },
  });
  writeJson(tree, 'packages/core/package.json', { name: '@supcon/core', version: '0.3.0' });
  return tree;
}

describe('@supcon/tools:plugin-package', () => {
  // formatFiles cannot load prettier's ESM plugins inside jest's CJS sandbox; it warns and skips.
  beforeAll(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it('scaffolds a dual ESM/CJS package with tfjs as a peer and the plugin under the kind map key', async () => {
    const tree = workspace();
    await generator(tree, { name: 'my-loss', kind: 'loss' });
    const pkg = readJson(tree, 'packages/my-loss/package.json');
    expect(pkg.name).toBe('@supcon/my-loss');
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.exports['.'].import.types).toBe('./dist/index.d.ts');
    expect(pkg.exports['.'].require.types).toBe('./dist/index.d.cts');
    expect(pkg.exports['.'].require.default).toBe('./dist/index.cjs');
    expect(pkg.peerDependencies['@tensorflow/tfjs-core']).toBe('^4.22.0');
    expect(pkg.dependencies['@supcon/core']).toBe('0.3.0');
    for (const script of ['build', 'test', 'lint', 'typecheck', 'publint'])
      expect(typeof pkg.scripts[script]).toBe('string');
    const index = tree.read('packages/my-loss/src/index.ts', 'utf8') ?? '';
    expect(index).toMatch(/losses:\s*\{/);
    expect(index).toMatch(/export const myLossPlugin/);
    for (const f of [
      'tsup.config.ts',
      'jest.config.cjs',
      'tsconfig.json',
      'tsconfig.build.json',
      'README.md',
      'src/index.test.ts',
    ]) {
      expect(tree.exists(`packages/my-loss/${f}`)).toBe(true);
    }
    // relative paths to the workspace root files match the package depth
    expect(tree.read('packages/my-loss/jest.config.cjs', 'utf8')).toContain(
      '../../jest.preset.cjs',
    );
  });

  it('uses the kind map key and a caret core range for external packages in another directory', async () => {
    const tree = workspace();
    await generator(tree, {
      name: 'flip',
      kind: 'augmentation',
      directory: 'libs/deep/flip',
      external: true,
    });
    const pkg = readJson(tree, 'libs/deep/flip/package.json');
    expect(pkg.dependencies['@supcon/core']).toBe('^0.3.0');
    expect(tree.read('libs/deep/flip/src/index.ts', 'utf8')).toMatch(/augmentations:\s*\{/);
    expect(tree.read('libs/deep/flip/jest.config.cjs', 'utf8')).toContain(
      '../../../jest.preset.cjs',
    );
  });

  it('refuses an unknown kind, naming the option and the valid kinds', async () => {
    await expect(generator(workspace(), { name: 'x', kind: 'widget' })).rejects.toThrow(
      "--kind: expected one of loss, augmentation, sampler, schedule, hook, got 'widget'",
    );
  });

  it('refuses to overwrite an existing package', async () => {
    const tree = workspace();
    await generator(tree, { name: 'dup' });
    await expect(generator(tree, { name: 'dup' })).rejects.toThrow(
      'packages/dup/package.json already exists',
    );
  });
});
