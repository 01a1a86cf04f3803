/**
 * `supcon download <dataset> [--mirror URL] [--keep-archive]`: downloads a dataset into the cache
 * with @supcon/data's `ensureDataset` (SHA-256 checked, resumable, CIFAR unpacked). Also the
 * question `supcon train` and `eval` ask on a TTY before a config's dataset is downloaded.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { Plugin } from '@supcon/core';
import {
  DATASET_SOURCES,
  createDataPlugin,
  dataPlugin,
  downloadOffer,
  ensureDataset,
  formatBytes,
  isDatasetName,
} from '@supcon/data';
import type { DownloadOffer } from '@supcon/data';

export interface DownloadCommandDeps {
  print?: (line: string) => void;
}

const hostsOf = (urls: readonly string[]) =>
  [...new Set(urls.map((u) => new URL(u).host))].join(', ');

export function registerDownloadCommand(program: Command, deps: DownloadCommandDeps = {}): void {
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const names = Object.keys(DATASET_SOURCES);
  program
    .command('download')
    .description(
      'download a dataset into the cache ($SUPCON_CACHE or ~/.cache/supcon), checked by SHA-256',
    )
    .argument('<dataset>', names.join(' | '))
    .option(
      '--mirror <url>',
      'base URL replacing the official directory, {dataset} = the name (default: $SUPCON_DATASET_MIRROR)',
    )
    .option('--keep-archive', 'keep the CIFAR .tar.gz after unpacking it')
    .action(async (name: string, opts: { mirror?: string; keepArchive?: boolean }) => {
      if (!isDatasetName(name))
        throw new Error(`download: unknown dataset '${name}' (known: ${names.join(', ')})`);
      const offer = downloadOffer(name, { mirror: opts.mirror });
      if (offer.files.length > 0) {
        print(
          `downloading ${offer.title} (${formatBytes(offer.totalBytes)}) from ${hostsOf(offer.urls)} into ${offer.dest}`,
        );
      }
      const dir = await ensureDataset(name, { mirror: opts.mirror, keepArchive: opts.keepArchive });
      print(`${offer.title} is in ${dir}`);
    });
}

export interface AskIo {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Ask at all (default: stdin and stderr are TTYs and $CI is unset). */
  interactive?: boolean;
}

/**
 * Asks `Download Fashion-MNIST (30.9 MB) from <host> into <dest>? [y/N]` on an interactive
 * terminal and resolves to the answer; resolves to false without asking elsewhere (CI never blocks).
 */
export async function askToDownload(offer: DownloadOffer, io: AskIo = {}): Promise<boolean> {
  const interactive =
    io.interactive ?? Boolean(process.stdin.isTTY && process.stderr.isTTY && !process.env.CI);
  if (!interactive) return false;
  const rl = createInterface({
    input: io.input ?? process.stdin,
    output: io.output ?? process.stderr,
  });
  const abort = new AbortController();
  rl.on('SIGINT', () => abort.abort());
  rl.on('close', () => abort.abort());
  try {
    const question = `Download ${offer.title} (${formatBytes(offer.totalBytes)}) from ${hostsOf(offer.urls)} into ${offer.dest}? [y/N] `;
    const answer = await rl.question(question, { signal: abort.signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

/** `plugins` with @supcon/data's plugin replaced by one that asks (`ask`) before downloading. */
export function withDownloadPrompt(
  plugins: readonly Plugin[],
  ask: (offer: DownloadOffer) => Promise<boolean> = askToDownload,
): Plugin[] {
  return plugins.map((p) => (p === dataPlugin ? createDataPlugin({ download: ask }) : p));
}
