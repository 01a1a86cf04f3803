import { createRegistry, createRng } from '@supcon/core';
import { augmentPlugin } from './index';

describe('@supcon/augment plugin', () => {
  const context = { rng: createRng(0) };

  it('registers its example augmentation and applies schema defaults', async () => {
    const registry = createRegistry([augmentPlugin]);
    expect(registry.list('augmentation')).toContain('augment-example');
    const part = await registry.build('augmentation', { type: 'augment-example' }, context);
    expect(part).toEqual({ scale: 1 });
  });

  it('rejects bad options with the option path', async () => {
    const registry = createRegistry([augmentPlugin]);
    await expect(
      registry.build('augmentation', { type: 'augment-example', scale: -2 }, context),
    ).rejects.toThrow(/scale/);
  });
});
