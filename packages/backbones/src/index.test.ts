import { createRegistry, createRng } from '@supcon/core';
import { backbonesPlugin } from './index';

describe('@supcon/backbones plugin', () => {
  const context = { rng: createRng(0) };

  it('registers its example backbone and applies schema defaults', async () => {
    const registry = createRegistry([backbonesPlugin]);
    expect(registry.list('backbone')).toContain('backbones-example');
    const part = await registry.build('backbone', { type: 'backbones-example' }, context);
    expect(part).toEqual({ scale: 1 });
  });

  it('rejects bad options with the option path', async () => {
    const registry = createRegistry([backbonesPlugin]);
    await expect(
      registry.build('backbone', { type: 'backbones-example', scale: -2 }, context),
    ).rejects.toThrow(/scale/);
  });
});
