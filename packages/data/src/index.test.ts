import { createRegistry, createRng } from '@supcon/core';
import { dataPlugin } from './index';

describe('@supcon/data plugin', () => {
  const context = { rng: createRng(0) };

  it('registers its example dataset and applies schema defaults', async () => {
    const registry = createRegistry([dataPlugin]);
    expect(registry.list('dataset')).toContain('data-example');
    const part = await registry.build('dataset', { type: 'data-example' }, context);
    expect(part).toEqual({ scale: 1 });
  });

  it('rejects bad options with the option path', async () => {
    const registry = createRegistry([dataPlugin]);
    await expect(
      registry.build('dataset', { type: 'data-example', scale: -2 }, context),
    ).rejects.toThrow(/scale/);
  });
});
