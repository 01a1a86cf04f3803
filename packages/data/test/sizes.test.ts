import { createRegistry, createRng } from '@supcon/core';
import { dataPlugin } from '../src/index';

describe('trainSize / testSize larger than the data', () => {
  it('uses the whole split and warns through the logger, naming the option and both sizes', async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };
    const registry = createRegistry([dataPlugin]);
    const part = await registry.build('dataset', { type: 'fashion-mnist-sample', trainSize: 7000, testSize: 100 }, { rng: createRng(0), logger });
    const [train, test] = await Promise.all([part.load('train'), part.load('test')]);
    expect([train.size, test.size]).toEqual([6000, 100]);
    expect(warnings).toEqual(['data.trainSize: 7000 images requested, but the train split has only 6000: using all 6000']);
  });

  it('says nothing when the sizes fit', async () => {
    const warnings: string[] = [];
    const registry = createRegistry([dataPlugin]);
    const part = await registry.build('dataset', { type: 'fashion-mnist-sample', trainSize: 6000, testSize: 1000 }, { rng: createRng(0), logger: { info: () => {}, warn: (m: string) => warnings.push(m) } });
    await Promise.all([part.load('train'), part.load('test')]);
    expect(warnings).toEqual([]);
  });
});
