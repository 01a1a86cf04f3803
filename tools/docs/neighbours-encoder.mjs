// The trained encoder that the docs site's nearest-neighbours page (docs/neighbours.md) loads from
// /encoder/: the run of examples/web-app/encoder.yaml (seeded, one wasm thread), trained in Node
// with @supcon/train's built package and exported with its `exportEncoder` into
// docs/.vitepress/cache/encoder/ (git-ignored): model.json, the weight shard, supcon.json.
//
// It is cached: key.json there records a hash of what the weights depend on (the config file, the
// sample's files, the built @supcon packages, the tfjs versions), and while it matches nothing is
// trained again. Training takes about 45 s on two busy cores.
//
// `encoderAssets()` is a Vite plugin (docs/vite.config.mts loads it): `vitepress build` emits the
// files into the site at encoder/, `vitepress dev` serves them there (training first if needed).
// As a script:
//
//   node tools/docs/neighbours-encoder.mjs          (make sure the cache is current; print where)
//   node tools/docs/neighbours-encoder.mjs DIR      (the same, then copy the files into DIR/encoder/)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import console from 'node:console';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const self = fileURLToPath(import.meta.url);
/** The run's config. */
export const ENCODER_CONFIG = path.join(root, 'examples/web-app/encoder.yaml');
/** Where the export is kept between builds. */
export const ENCODER_CACHE = path.join(root, 'docs/.vitepress/cache/encoder');
/** Its folder on the site. */
export const ENCODER_SITE = 'encoder';
const KEY_FILE = 'key.json';
const SAMPLE = path.join(root, 'packages/data/sample/fashion-mnist');
/** The packages a run and its export use (their built Node entries). */
const PACKAGES = [
  'core',
  'backends',
  'losses',
  'backbones',
  'optim',
  'augment',
  'samplers',
  'data',
  'eval',
  'train',
];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A hash of everything the exported weights depend on. */
function cacheKey() {
  // The config as parsed: editing its comments trains nothing.
  const parts = { config: sha256(JSON.stringify(parseYaml(readFileSync(ENCODER_CONFIG, 'utf8')))) };
  for (const f of readdirSync(SAMPLE)
    .filter((f) => f.endsWith('.gz'))
    .sort())
    parts[`sample/${f}`] = sha256(readFileSync(path.join(SAMPLE, f)));
  for (const name of PACKAGES) {
    const dist = path.join(root, 'packages', name, 'dist');
    if (!existsSync(dist))
      throw new Error(
        `docs encoder: packages/${name}/dist is missing (build the packages first: npm run build)`,
      );
    const hash = createHash('sha256');
    for (const f of readdirSync(dist)
      .filter((f) => f.endsWith('.js'))
      .sort())
      hash.update(f).update(readFileSync(path.join(dist, f)));
    parts[`@supcon/${name}`] = hash.digest('hex');
  }
  for (const name of ['tfjs-core', 'tfjs-layers', 'tfjs-backend-wasm'])
    parts[`@tensorflow/${name}`] = JSON.parse(
      readFileSync(path.join(root, 'node_modules/@tensorflow', name, 'package.json'), 'utf8'),
    ).version;
  return { key: sha256(JSON.stringify(parts)), parts };
}

/** The export's files in the cache: model.json, the shards, supcon.json. */
function cachedFiles() {
  if (!existsSync(ENCODER_CACHE)) return [];
  return readdirSync(ENCODER_CACHE)
    .filter(
      (f) => f === 'model.json' || f === 'supcon.json' || /^group\d+-shard\d+of\d+\.bin$/.test(f),
    )
    .sort()
    .map((name) => ({
      site: `${ENCODER_SITE}/${name}`,
      file: path.join(ENCODER_CACHE, name),
      type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    }));
}

function isCurrent(key) {
  try {
    const saved = JSON.parse(readFileSync(path.join(ENCODER_CACHE, KEY_FILE), 'utf8'));
    const files = cachedFiles().map((f) => path.basename(f.file));
    return saved.key === key && files.includes('model.json') && files.includes('supcon.json');
  } catch {
    return false;
  }
}

/** Trains and exports in a child process (tfjs and its threads stay out of the caller's process). */
function trainInChild(out) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, '--train', out], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `docs encoder: training failed (${signal ?? `exit ${code}`}):\n${stderr.trim()}`,
            ),
          ),
    );
  });
}

/**
 * Makes sure the cache holds the current export (training it when it does not); resolves to its
 * files `{ site, file, type }` (`site`: the path on the site, without a leading slash).
 */
export async function ensureEncoder({ log = (m) => console.log(m) } = {}) {
  const { key, parts } = cacheKey();
  if (isCurrent(key)) return cachedFiles();
  const started = Date.now();
  log(
    `docs encoder: training ${path.relative(root, ENCODER_CONFIG)} and exporting it (cached in ${path.relative(root, ENCODER_CACHE)}/)…`,
  );
  mkdirSync(path.dirname(ENCODER_CACHE), { recursive: true });
  const staging = mkdtempSync(path.join(path.dirname(ENCODER_CACHE), '.encoder-'));
  try {
    const out = path.join(staging, 'encoder');
    await trainInChild(out);
    writeFileSync(path.join(out, KEY_FILE), `${JSON.stringify({ key, parts }, null, 2)}\n`);
    rmSync(ENCODER_CACHE, { recursive: true, force: true });
    renameSync(out, ENCODER_CACHE);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`docs encoder: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return cachedFiles();
}

/** The child: train the config into a temporary run folder, export its encoder to `out`. */
async function trainAndExport(out) {
  const { exportEncoder, train } = await import('@supcon/train');
  const { nodeStorage } = await import('@supcon/core');
  const runDir = mkdtempSync(path.join(tmpdir(), 'supcon-docs-encoder-'));
  try {
    const quiet = { info: () => {}, warn: (m) => console.warn(m) };
    // The run goes to a temporary folder through `storage`, so that supcon.json's config keeps the
    // config file's own `out` rather than a temporary path.
    const storage = nodeStorage(runDir);
    const { summary } = await train(ENCODER_CONFIG, { storage, logger: quiet });
    const { metadata } = await exportEncoder(storage, out, { logger: quiet });
    const knn = summary.eval.knn?.top1;
    console.log(
      `docs encoder: ${metadata.inputShape.join('x')} -> ${metadata.featureDim} features after ${metadata.epochs} epochs; 20-NN top-1 ${knn === undefined ? '?' : `${(100 * knn).toFixed(1)}%`} (the run's test images against its training images)`,
    );
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

const ISOLATION = {
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The Vite plugin: emits the export into the client build at encoder/, serves it in dev. */
export function encoderAssets() {
  let ssr = false;
  let base = '/';
  let pending;
  const ready = () => (pending ??= ensureEncoder());
  return {
    name: 'supcon-docs-encoder',
    configResolved(config) {
      ssr = Boolean(config.build.ssr);
      base = config.base || '/';
    },
    buildStart() {
      // Start training (if the cache is stale) while the pages are bundled.
      if (!ssr) ready().catch(() => {}); // the error is reported by generateBundle
    },
    async generateBundle() {
      if (ssr) return; // VitePress builds twice (client, then server-side rendering): the site is the client's output.
      for (const { site, file } of await ready())
        this.emitFile({ type: 'asset', fileName: site, source: readFileSync(file) });
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const pathname = decodeURIComponent((req.url ?? '/').split('?')[0]);
        const rel = pathname.startsWith(base) ? pathname.slice(base.length) : undefined;
        if (!rel?.startsWith(`${ENCODER_SITE}/`)) return next();
        ready().then(
          (files) => {
            const asset = files.find((f) => f.site === rel);
            if (!asset) return next();
            res.writeHead(200, { 'Content-Type': asset.type, ...ISOLATION });
            res.end(readFileSync(asset.file));
          },
          (error) => next(error),
        );
      });
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === self) {
  if (process.argv[2] === '--train') {
    await trainAndExport(process.argv[3]);
  } else {
    const files = await ensureEncoder();
    const dir = process.argv[2];
    if (dir) {
      for (const { site, file } of files) {
        mkdirSync(path.dirname(path.join(dir, site)), { recursive: true });
        copyFileSync(file, path.join(dir, site));
      }
      console.log(
        `docs encoder: ${files.length} files copied into ${path.join(dir, ENCODER_SITE)}/`,
      );
    } else {
      console.log(
        `docs encoder: ${path.relative(root, ENCODER_CACHE)}/ holds ${files.map((f) => path.basename(f.file)).join(', ')}`,
      );
    }
  }
}
