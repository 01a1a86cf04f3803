import { createRegistry, createRng } from '@supcon/core';
import { samplersPlugin } from './index';

describe('@supcon/samplers plugin', () => {
  const context = { rng: createRng(0) };

  it('registers its example sampler and applies schema defaults', async () => {
    const registry = createRegistry([samplersPlugin]);
    expect(registry.list('sampler')).toContain('samplers-example');
    const part = await registry.build('sampler', { type: 'samplers-example' }, context);
    expect(part).toEqual({ scale: 1 });
  });

  it('rejects bad options with the option path', async () => {
    const registry = createRegistry([samplersPlugin]);
    await expect(
      registry.build('sampler', { type: 'samplers-example', scale: -2 }, context),
    ).rejects.toThrow(/scale/);
  });
});
