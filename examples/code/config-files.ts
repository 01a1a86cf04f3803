/**
 * The config files of this folder (`*.config.ts`), checked as `supcon validate --config F` checks
 * them: loaded (TypeScript through jiti), validated against the schemas of the built-in plugins
 * and their own, and refused if they cannot train. Then quick.config.ts and every-slot.config.ts
 * are trained, each for its one short epoch, into temporary folders.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/config-files.ts`).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRegistry, loadConfigFile, validateConfig } from '@supcon/core';
import { builtinDefaults, builtinPlugins, checkDataFolder, preflight, train } from '@supcon/train';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => f.endsWith('.config.ts')).sort();
for (const file of files) {
  const registry = createRegistry(builtinPlugins);
  const result = validateConfig(await loadConfigFile(path.join(here, file)), registry, { defaults: builtinDefaults, source: file });
  const issues = result.success ? await preflight(result.config, registry, checkDataFolder) : result.issues;
  if (issues.length) throw new Error(`${file}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
}

const quiet = { info: () => {}, warn: console.warn };
const root = mkdtempSync(path.join(tmpdir(), 'supcon-configs-'));
const quick = await train(path.join(here, 'quick.config.ts'), { out: path.join(root, 'quick'), logger: quiet });
const quickProbe = (quick.summary.eval.linearProbe as { top1: number }).top1;
if (!(quickProbe > 0.3)) throw new Error(`quick.config.ts: linear probe top-1 ${quickProbe}, expected well above chance (10%)`);

const every = await train(path.join(here, 'every-slot.config.ts'), { out: path.join(root, 'every-slot'), logger: quiet });
const lines = readFileSync(path.join(every.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const steps = lines.filter((l) => l.kind === 'step').length;
const note = lines.find((l) => l.kind === 'custom');
const checkpoints = readdirSync(path.join(every.runDir, 'checkpoints')).sort();
if (note?.note !== 'every slot set') throw new Error(`every-slot.config.ts: the hook's metrics line is missing: ${JSON.stringify(note)}`);
if (!checkpoints.includes('epoch-0001') || !Object.keys(every.summary.eval).join(',').includes('linearProbe,knn')) {
  throw new Error(`every-slot.config.ts: checkpoints ${checkpoints.join(', ')}, evaluators ${Object.keys(every.summary.eval).join(', ')}`);
}
console.log(
  `${files.length} config files valid; quick: probe top-1 ${(100 * quickProbe).toFixed(1)}%; ` +
    `every-slot: ${steps} steps of ${String(every.summary.stage)}, hook line written, checkpoints ${checkpoints.join(', ')}`,
);
