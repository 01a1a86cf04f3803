/** `supcon validate` and `supcon schema`. */
import type { Command } from 'commander';
import { configJsonSchema, createRegistry, loadConfigFile, SupconConfigError, validateConfig } from '@supcon/core';
import type { Plugin, ResolveOptions } from '@supcon/core';
import { checkDataFolder, preflight } from '@supcon/train';

export interface ConfigCommandDeps {
  plugins: readonly Plugin[];
  defaults?: ResolveOptions['defaults'];
  print?: (line: string) => void;
  printError?: (line: string) => void;
  /** Sets the process exit code (2 for an invalid config). */
  setExitCode: (code: number) => void;
}

export function registerConfigCommands(program: Command, deps: ConfigCommandDeps): void {
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = deps.printError ?? ((line: string) => process.stderr.write(`${line}\n`));

  program
    .command('validate')
    .description('check a config against the schemas of its plugins; exit 0 when valid, 2 with every error (path: reason)')
    .requiredOption('-c, --config <file>', 'supcon.config.ts|.mjs|.js|.json|.yaml')
    .action(async (opts: { config: string }) => {
      let raw: Record<string, unknown>;
      try {
        raw = await loadConfigFile(opts.config);
      } catch (error) {
        if (!(error instanceof SupconConfigError)) throw error;
        printError(`${opts.config}: invalid config`);
        for (const issue of error.issues) printError(`  ${issue.path}: ${issue.message}`);
        deps.setExitCode(2);
        return;
      }
      const registry = createRegistry(deps.plugins);
      const result = validateConfig(raw, registry, { defaults: deps.defaults, source: opts.config });
      // A valid config that cannot train (no steps, no positives, a missing data folder) is refused too.
      if (result.success) {
        const issues = await preflight(result.config, registry, checkDataFolder);
        if (issues.length) {
          printError(`${opts.config}: valid, but it cannot train: ${issues.length} error${issues.length > 1 ? 's' : ''}`);
          for (const issue of issues) printError(`  ${issue.path}: ${issue.message}`);
          deps.setExitCode(2);
          return;
        }
      }
      if (!result.success) {
        printError(`${opts.config}: ${result.issues.length} error${result.issues.length > 1 ? 's' : ''}`);
        for (const issue of result.issues) printError(`  ${issue.path}: ${issue.message}`);
        deps.setExitCode(2);
        return;
      }
      const c = result.config;
      print(
        `${opts.config}: valid — data ${c.data?.type ?? '–'}, backbone ${c.backbone?.type ?? '–'}, loss ${c.loss?.type ?? '–'}, ` +
          `${c.train.epochs} epochs of batch ${c.train.batchSize} x ${c.train.views} views, backend ${c.backend}, out ${c.out}`,
      );
    });

  program
    .command('schema')
    .description('print the JSON Schema of supcon configs (built-in plugins), for editors: "$schema" in JSON, yaml-language-server in YAML')
    .action(() => {
      print(JSON.stringify(configJsonSchema(createRegistry(deps.plugins), { defaults: deps.defaults }), null, 2));
    });
}
