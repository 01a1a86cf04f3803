import { createRegistry, createRng } from '@supcon/core';
import { evalPlugin } from './index';

describe('@supcon/eval plugin', () => {
  const context = { rng: createRng(0) };

  it('registers its example evaluator and applies schema defaults', async () => {
    const registry = createRegistry([evalPlugin]);
    expect(registry.list('evaluator')).toContain('eval-example');
    const part = await registry.build('evaluator', { type: 'eval-example' }, context);
    expect(part).toEqual({ scale: 1 });
  });

  it('rejects bad options with the option path', async () => {
    const registry = createRegistry([evalPlugin]);
    await expect(
      registry.build('evaluator', { type: 'eval-example', scale: -2 }, context),
    ).rejects.toThrow(/scale/);
  });
});
