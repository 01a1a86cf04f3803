/**
 * Getting a dataset onto disk: `ensureDataset` downloads the catalogue's files (or a mirror's, or
 * a custom source's) into `cacheDir()/<name>` with `downloadFile` (part file, Range resume,
 * SHA-256, atomic rename), and unpacks the CIFAR archives (tar) atomically: into a `.unpack-<pid>-*`
 * folder first, then one rename of the finished folder into place, so an interrupted unpack never
 * leaves a folder the loaders would take for a complete dataset. The archive is deleted once
 * unpacked (`keepArchive: true` keeps it). `obtainDataset` is what the loaders call when they
 * find nothing: download, ask, or throw an error that says how to get the data.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { extract } from 'tar';
import { formatBytes, resolveSource } from './catalog';
import type { DatasetName, DatasetSource } from './catalog';
import { downloadFile } from './download';

/** supcon's dataset cache: `$SUPCON_CACHE`, else `~/.cache/supcon`. */
export function cacheDir(): string {
  return process.env.SUPCON_CACHE ?? path.join(homedir(), '.cache', 'supcon');
}

/** The folder `ensureDataset` downloads `name` into: `cacheDir()/<name>`. */
export function datasetDir(name: DatasetName): string {
  return path.join(cacheDir(), name);
}

/** What a download would fetch; given to a `download` function so it can ask first. */
export interface DownloadOffer {
  dataset: DatasetName;
  /** Display name, e.g. `Fashion-MNIST`. */
  title: string;
  /** Names of the files to download (those not already in `dest`). */
  files: string[];
  /** Their addresses, in the order of `files`. */
  urls: string[];
  /** Their total size in bytes. */
  totalBytes: number;
  /** The folder they go into (`cacheDir()/<dataset>`). */
  dest: string;
}

/** `true`: download; a function: download if it resolves to true; `false`/absent: never. */
export type DownloadConsent = boolean | ((offer: DownloadOffer) => boolean | Promise<boolean>);

export interface EnsureDatasetOptions {
  /** Base URL replacing each file's directory (default `$SUPCON_DATASET_MIRROR`); see `withMirror`. */
  mirror?: string;
  /** A whole custom source (addresses, sizes, SHA-256) instead of the catalogue's. */
  source?: DatasetSource;
  /** Draw a progress bar per file (default: when stderr is a TTY). */
  progressBar?: boolean;
  onProgress?: (file: string, received: number, total: number | undefined) => void;
  /** Keep the verified archive (CIFAR) after unpacking it (default: delete it). */
  keepArchive?: boolean;
}

/** Download options the loaders (`loadMnist`, `loadCifar10`, ...) accept. */
export interface DownloadSettings {
  /** When the dataset is not found (and no `root` is given): download, ask, or not (default). */
  download?: DownloadConsent;
  mirror?: string;
  source?: DatasetSource;
  progressBar?: boolean;
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The first line of an unpacking error (tar's sync mode can wrap it in ERR_UNHANDLED_ERROR). */
function tarMessage(e: unknown): string {
  const context = (e as { code?: unknown; context?: unknown } | undefined)?.context;
  const inner =
    (e as { code?: unknown } | undefined)?.code === 'ERR_UNHANDLED_ERROR' &&
    typeof context === 'object' &&
    context !== null &&
    'message' in context
      ? context.message
      : undefined;
  return (typeof inner === 'string' ? inner : messageOf(e)).split('\n')[0];
}

function hasAll(dir: string, names: readonly string[]): boolean {
  return names.every((n) => existsSync(path.join(dir, n)));
}

function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/**
 * What `ensureDataset(name, options)` would download now: the source's files that are not in
 * `cacheDir()/<name>` with their expected size (none when an archive is already unpacked).
 */
export function downloadOffer(
  name: DatasetName,
  options: Pick<EnsureDatasetOptions, 'mirror' | 'source'> = {},
): DownloadOffer {
  const source = resolveSource(name, options);
  const dest = datasetDir(name);
  const unpacked =
    source.unpack && hasAll(path.join(dest, source.unpack.folder), source.unpack.contents);
  const missing = unpacked
    ? []
    : source.files.filter((f) => sizeOf(path.join(dest, f.name)) !== f.bytes);
  return {
    dataset: name,
    title: source.title,
    files: missing.map((f) => f.name),
    urls: missing.map((f) => f.url),
    totalBytes: missing.reduce((s, f) => s + f.bytes, 0),
    dest,
  };
}

const inFlight = new Map<string, Promise<string>>();

/** One promise per key at a time in this process (the train and test splits load in parallel). */
function once(key: string, run: () => Promise<string>): Promise<string> {
  let p = inFlight.get(key);
  if (!p) {
    p = run().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.unpack-<pid>-*` folders left by processes that died while unpacking. */
async function removeStaleUnpacks(dest: string): Promise<void> {
  for (const entry of await readdir(dest)) {
    const m = /^\.unpack-(\d+)-/.exec(entry);
    if (m && !isAlive(Number(m[1])))
      await rm(path.join(dest, entry), { recursive: true, force: true });
  }
}

async function unpackArchive(
  archive: string,
  dest: string,
  unpack: NonNullable<DatasetSource['unpack']>,
  title: string,
): Promise<string> {
  const final = path.join(dest, unpack.folder);
  await removeStaleUnpacks(dest);
  const temp = await mkdtemp(path.join(dest, `.unpack-${process.pid}-`));
  try {
    try {
      // Synchronous (under a second for CIFAR): when the async form rejects, its file writes may
      // still be under way, racing the removal of the temp folder.
      extract({ file: archive, cwd: temp, strict: true, sync: true });
    } catch (e) {
      throw new Error(
        `${title}: unpacking ${archive} failed: ${tarMessage(e)}; nothing was unpacked into ${final} ` +
          `(its SHA-256 matched, so the archive is kept: check the disk and run again, or delete it to download it again)`,
        { cause: e },
      );
    }
    const inner = path.join(temp, unpack.folder);
    const missing = unpack.contents.filter((n) => !existsSync(path.join(inner, n)));
    if (missing.length > 0) {
      throw new Error(
        `${title}: ${archive} does not hold ${missing.map((n) => `${unpack.folder}/${n}`).join(', ')}; nothing was unpacked into ${final}`,
      );
    }
    if (existsSync(final)) {
      // Another process finished first; or a folder put there by hand that lacks files.
      if (hasAll(final, unpack.contents)) return final;
      throw new Error(
        `${title}: ${final} exists but lacks some of ${unpack.contents.join(', ')}: move it away and run again`,
      );
    }
    await rename(inner, final);
    return final;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * Downloads `name` into `cacheDir()/<name>` unless it is already there (files with the right
 * SHA-256 are kept; an unpacked archive is not downloaded again), unpacks an archive, and
 * resolves to the folder the loader reads: `cacheDir()/<name>` for the IDX datasets,
 * `cacheDir()/<name>/<folder>` (`cifar-10-batches-bin`, `cifar-100-binary`) for CIFAR.
 * A file whose SHA-256 differs is deleted and the error names the file and both hashes.
 */
export function ensureDataset(
  name: DatasetName,
  options: EnsureDatasetOptions = {},
): Promise<string> {
  const dest = datasetDir(name);
  return once(`ensure:${dest}`, async () => {
    const source = resolveSource(name, options);
    const unpack = source.unpack;
    if (unpack && hasAll(path.join(dest, unpack.folder), unpack.contents))
      return path.join(dest, unpack.folder);
    await mkdir(dest, { recursive: true });
    for (const file of source.files) {
      const onProgress = options.onProgress;
      try {
        await downloadFile({
          url: file.url,
          dest: path.join(dest, file.name),
          sha256: file.sha256,
          progressBar: options.progressBar,
          onProgress:
            onProgress &&
            ((received, total) => onProgress(file.name, received, total ?? file.bytes)),
        });
      } catch (e) {
        throw new Error(`${source.title}: ${file.name}: ${messageOf(e)}`, { cause: e });
      }
    }
    if (!unpack) return dest;
    const archive = path.join(dest, source.files[0].name);
    const folder = await unpackArchive(archive, dest, unpack, source.title);
    if (!options.keepArchive) await rm(archive, { force: true });
    return folder;
  });
}

function hostsOf(urls: readonly string[]): string {
  const hosts = [...new Set(urls.map((u) => new URL(u).host))];
  return hosts.join(', ');
}

/** How to get a dataset that is not there, with its size: for the loaders' errors. */
export function howToDownload(offer: DownloadOffer): string {
  const what = `${offer.files.length} file${offer.files.length === 1 ? '' : 's'}, ${formatBytes(offer.totalBytes)} from ${hostsOf(offer.urls)}`;
  return (
    `To download ${offer.title} (${what}) into ${offer.dest}: pass download: true ` +
    `(in a config: data: { type: '${offer.dataset}', download: true }) or run \`supcon download ${offer.dataset}\``
  );
}

/**
 * For the loaders, once `looked` (the folders searched) held nothing: downloads with
 * `download: true`, asks a `download` function first, else throws an error naming the folders,
 * how to download (with the size) and `alternatives`. Resolves to the folder to read.
 */
export function obtainDataset(
  name: DatasetName,
  looked: readonly string[],
  settings: DownloadSettings,
  alternatives: string,
): Promise<string> {
  return once(`obtain:${datasetDir(name)}`, async () => {
    const offer = downloadOffer(name, settings);
    const consent = settings.download;
    // Nothing to fetch (e.g. a kept archive not unpacked yet): no network, no need to ask.
    const yes =
      offer.files.length === 0 ||
      consent === true ||
      (typeof consent === 'function' && (await consent(offer)) === true);
    if (!yes) {
      const declined = typeof consent === 'function' ? ' (the download was declined)' : '';
      throw new Error(
        `${name} not found in ${looked.join(' or ')}${declined}. ${howToDownload(offer)}. Or ${alternatives}.`,
      );
    }
    return ensureDataset(name, {
      mirror: settings.mirror,
      source: settings.source,
      progressBar: settings.progressBar,
    });
  });
}
