import { createRegistry, createRng } from '@supcon/core';
import { lossesPlugin } from './index';

describe('@supcon/losses plugin', () => {
  const context = { rng: createRng(0) };

  it('registers its example loss and applies schema defaults', async () => {
    const registry = createRegistry([lossesPlugin]);
    expect(registry.list('loss')).toContain('losses-example');
    const part = await registry.build('loss', { type: 'losses-example' }, context);
    expect(part).toEqual({ scale: 1 });
  });

  it('rejects bad options with the option path', async () => {
    const registry = createRegistry([lossesPlugin]);
    await expect(
      registry.build('loss', { type: 'losses-example', scale: -2 }, context),
    ).rejects.toThrow(/scale/);
  });
});
