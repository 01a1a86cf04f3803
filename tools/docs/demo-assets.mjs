// The static files the in-browser demo (docs/demo.md) fetches, served by the docs site:
//
// - /wasm/*.wasm: @tensorflow/tfjs-backend-wasm's three binaries (plain, SIMD, threaded SIMD),
//   which the page names with `backendOptions: { wasmPaths }`;
// - /data/fashion-mnist/*.gz: the Fashion-MNIST sample of @supcon/data (packages/data/sample/),
//   which the page names with `data.url`.
//
// `demoAssets()` is a Vite plugin (docs/vite.config.mts loads it): `vitepress build` emits the
// files into the site (docs/.vitepress/dist/wasm/, .../data/fashion-mnist/) straight from
// node_modules and packages/, and `vitepress dev` serves them from there, so no copy is kept in
// docs/public/. The dev server also sends the demo page with COOP/COEP headers, so that it is
// cross-origin isolated and the wasm backend gets threads.
//
// As a script it copies the same files into a folder, for a site built some other way:
//
//   node tools/docs/demo-assets.mjs DIR     (writes DIR/wasm/ and DIR/data/fashion-mnist/)
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import console from 'node:console';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCES = [
  {
    site: 'wasm',
    dir: path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
    match: (f) => f.endsWith('.wasm'),
    type: 'application/wasm',
  },
  {
    site: 'data/fashion-mnist',
    dir: path.join(root, 'packages/data/sample/fashion-mnist'),
    match: (f) => f.endsWith('.gz'),
    type: 'application/octet-stream',
  },
];

/** Every file: its path on the site (no leading slash), where it is, its content type. */
export function demoAssetFiles() {
  return SOURCES.flatMap(({ site, dir, match, type }) => {
    if (!existsSync(dir))
      throw new Error(
        `demo assets: ${path.relative(root, dir)} does not exist (npm install first)`,
      );
    const files = readdirSync(dir).filter(match).sort();
    if (files.length === 0) throw new Error(`demo assets: no files in ${path.relative(root, dir)}`);
    return files.map((name) => ({ site: `${site}/${name}`, file: path.join(dir, name), type }));
  });
}

/** Copies every file into `outDir` at its site path; returns how many. */
export function copyDemoAssets(outDir) {
  const files = demoAssetFiles();
  for (const { site, file } of files) {
    const dest = path.join(outDir, site);
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(file, dest);
  }
  return files.length;
}

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** The Vite plugin: emits the files in the client build, serves them (and isolates /demo) in dev. */
export function demoAssets() {
  let ssr = false;
  let base = '/';
  return {
    name: 'supcon-demo-assets',
    configResolved(config) {
      ssr = Boolean(config.build.ssr);
      base = config.base || '/';
    },
    generateBundle() {
      // VitePress builds twice (client, then server-side rendering): the site is the client's output.
      if (ssr) return;
      for (const { site, file } of demoAssetFiles())
        this.emitFile({ type: 'asset', fileName: site, source: readFileSync(file) });
    },
    configureServer(server) {
      const files = new Map(demoAssetFiles().map((f) => [f.site, f]));
      server.middlewares.use((req, res, next) => {
        const pathname = decodeURIComponent((req.url ?? '/').split('?')[0]);
        const rel = pathname.startsWith(base) ? pathname.slice(base.length) : undefined;
        if (rel !== undefined && /^demo(\.html)?$/.test(rel))
          for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
        const asset = rel === undefined ? undefined : files.get(rel);
        if (!asset) return next();
        res.writeHead(200, {
          'Content-Type': asset.type,
          'Cross-Origin-Resource-Policy': 'same-origin',
        });
        res.end(readFileSync(asset.file));
      });
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node tools/docs/demo-assets.mjs DIR');
    process.exit(2);
  }
  console.log(`demo assets: ${copyDemoAssets(path.resolve(out))} files copied into ${out}`);
}
