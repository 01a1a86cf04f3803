/**
 * Checks that refuse a run that cannot train, before it starts: by `supcon validate` (which loads
 * the training split to know its size and classes) and by the training task's setup (with the data
 * it loaded). Each problem names the config path to change.
 */
import { SupconConfigError, createRng } from '@supcon/core';
import type { ConfigIssue, LossPart, Registry, ResolvedConfig, SamplerPart } from '@supcon/core';

export interface TrainabilityInput {
  config: ResolvedConfig;
  /** Labels of the training split (after `data.trainSize`). */
  labels: ArrayLike<number>;
  loss: Pick<LossPart, 'input' | 'supervised' | 'memory'>;
  sampler: SamplerPart;
}

/** Problems with an otherwise valid config on its training data; empty when it can train. */
export function trainabilityIssues({ config, labels, loss, sampler }: TrainabilityInput): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const n = labels.length;
  const batchSize = config.train.batchSize;
  if (n === 0) issues.push({ path: 'data', message: 'the training split is empty' });
  const steps = n === 0 ? 0 : sampler.batchesPerEpoch(labels);
  if (n > 0 && steps < 1) {
    issues.push({
      path: 'train.batchSize',
      message:
        `${batchSize} gives 0 steps per epoch on ${n} training images (the sampler drops the last, incomplete batch): ` +
        `lower train.batchSize to at most ${n}, or set sampler.dropLast: false`,
    });
  }
  issues.push(...(sampler.check?.(labels) ?? []));
  if (loss.input === 'embeddings' && n > 0) {
    const views = config.train.views;
    if (!loss.supervised && views < 2) {
      issues.push({ path: 'train.views', message: `${config.loss?.type ?? 'this loss'} takes the other view of an image as its positive: expected at least 2 views, got ${views}` });
    } else if (loss.supervised && views < 2) {
      // With one view an anchor's positives are other images of its class in the same batch.
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) counts.set(labels[i] as number, (counts.get(labels[i] as number) ?? 0) + 1);
      if (Math.min(batchSize, n) < 2) {
        issues.push({ path: 'train.batchSize', message: `with train.views ${views}, a batch of ${batchSize} image gives no anchor a positive: use at least 2 views, or batches of 2 or more` });
      } else if (![...counts.values()].some((c) => c >= 2)) {
        issues.push({ path: 'train.views', message: `with 1 view and no class seen twice in the training data, no anchor can have a positive: use at least 2 views` });
      }
    }
  }
  const memorySize = config.train.memory?.size ?? 0;
  if (memorySize > 0 && loss.memory !== true) {
    issues.push({
      path: 'train.memory',
      message: `${config.loss?.type ?? 'this loss'} does not take a memory bank (supcon-out, supcon-in and simclr do): remove train.memory or set its size to 0`,
    });
  }
  return issues;
}

/** Throws a `SupconConfigError` with every trainability issue (see `trainabilityIssues`). */
export function assertTrainable(input: TrainabilityInput, source?: string): void {
  const issues = trainabilityIssues(input);
  if (issues.length) throw new SupconConfigError(issues, source);
}

/** Says whether a data folder exists, as a resolved path, or undefined when it does (Node: the file system). */
export type FolderCheck = (folder: string) => { missing: string } | undefined;

/**
 * What a config lacks before any part is built: `data`, `loss` and `sampler` (train()'s defaults
 * fill every other part), and, with `checkFolder`, data folders (`data.root`, `data.testRoot`)
 * that do not exist.
 */
export function configIssues(config: ResolvedConfig, checkFolder?: FolderCheck): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!config.data) issues.push({ path: 'data', message: 'required: name a dataset, e.g. `data: { type: fashion-mnist }`' });
  if (!config.loss) issues.push({ path: 'loss', message: 'required: name a loss, e.g. `loss: { type: supcon-out }`' });
  if (!config.sampler) issues.push({ path: 'sampler', message: 'required: name a sampler, e.g. `sampler: { type: random }`' });
  for (const key of ['root', 'testRoot']) {
    const folder = (config.data as Record<string, unknown> | undefined)?.[key];
    const missing = typeof folder === 'string' ? checkFolder?.(folder)?.missing : undefined;
    if (missing) issues.push({ path: `data.${key}`, message: `no such folder: ${missing}` });
  }
  return issues;
}

function issuesOf(error: unknown, path: string): ConfigIssue[] {
  if (error instanceof SupconConfigError) return error.issues;
  const message = error instanceof Error ? error.message : String(error);
  return [{ path, message }];
}

/**
 * Everything `configIssues` and `trainabilityIssues` check, for a config alone: builds the
 * dataset, loss and sampler with a throwaway generator, loads the training split, and returns the
 * issues found. Used by `supcon validate`.
 */
export async function preflight(config: ResolvedConfig, registry: Registry, checkFolder?: FolderCheck): Promise<ConfigIssue[]> {
  const missing = configIssues(config, checkFolder);
  if (missing.length) return missing;
  for (const plugin of config.plugins) if (!registry.plugins().some((p) => p === plugin || p.name === plugin.name)) registry.use(plugin);
  const rng = createRng(config.seed).fork('preflight');
  const context = { rng, batchSize: config.train.batchSize, logger: { info: () => {}, warn: () => {} } };
  let labels: ArrayLike<number>;
  try {
    const dataset = await registry.build('dataset', config.data!, context, 'data');
    labels = (await dataset.load('train')).labels;
  } catch (error) {
    return issuesOf(error, 'data');
  }
  const issues: ConfigIssue[] = [];
  let loss: LossPart | undefined;
  let sampler: SamplerPart | undefined;
  try {
    loss = await registry.build('loss', config.loss!, context, 'loss');
  } catch (error) {
    issues.push(...issuesOf(error, 'loss'));
  }
  try {
    sampler = await registry.build('sampler', config.sampler!, context, 'sampler');
  } catch (error) {
    issues.push(...issuesOf(error, 'sampler'));
  }
  if (loss && sampler) issues.push(...trainabilityIssues({ config, labels, loss, sampler }));
  return issues;
}
