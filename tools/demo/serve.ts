/**
 * What the docs site's browser tests (tools/demo/*.test.ts) share: the built site (built once per
 * `npm run test:demo` by global-setup.ts, or taken from SUPCON_DEMO_DIST), a static server for it
 * on 127.0.0.1 (cross-origin isolated, VitePress's clean URLs), Debian's Chromium
 * (/usr/bin/chromium, never a downloaded browser) and a page that records what went wrong.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
export const root = path.resolve(__dirname, '../..');
/** Screenshots and the numbers each test saw (git-ignored). */
export const screenshotsDir = path.join(__dirname, '__screenshots__');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  // The sample's IDX files are fetched as they are and decompressed by the page: no Content-Encoding.
  '.gz': 'application/octet-stream',
  // An exported encoder's weight shards.
  '.bin': 'application/octet-stream',
};

/**
 * The built site: SUPCON_DEMO_DIST when set (global-setup.ts sets it after building; set it
 * yourself to a built site to skip the build, e.g. in CI right after docs:build:
 * SUPCON_DEMO_DIST=docs/.vitepress/dist), else built here with `npm run docs:build`.
 */
export function builtSite(): { dist: string; buildSeconds: number | null } {
  if (!process.env.SUPCON_DEMO_DIST) {
    const started = Date.now();
    execFileSync('npm', ['run', 'docs:build'], { cwd: root, stdio: 'inherit' });
    process.env.SUPCON_DEMO_DIST = path.join(root, 'docs/.vitepress/dist');
    process.env.SUPCON_DEMO_BUILD_SECONDS = String((Date.now() - started) / 1000);
  }
  const seconds = process.env.SUPCON_DEMO_BUILD_SECONDS;
  return {
    dist: path.resolve(root, process.env.SUPCON_DEMO_DIST),
    buildSeconds: seconds ? Number(seconds) : null,
  };
}

/** A static server for the built site, cross-origin isolated, with clean URLs; and its origin. */
export async function serve(dist: string): Promise<{ server: Server; origin: string }> {
  const isolation = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  const fileOf = (pathname: string): string | undefined => {
    const rel = decodeURIComponent(pathname).replace(/^\/+/, '');
    if (rel.split('/').includes('..')) return undefined;
    const candidates =
      rel === '' || rel.endsWith('/')
        ? [`${rel}index.html`]
        : [rel, `${rel}.html`, `${rel}/index.html`];
    return candidates
      .map((c) => path.join(dist, c))
      .find((f) => existsSync(f) && statSync(f).isFile());
  };
  const server = createServer((req, res) => {
    const file = fileOf(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (!file) {
      res.writeHead(404, { ...isolation, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(
        existsSync(path.join(dist, '404.html'))
          ? readFileSync(path.join(dist, '404.html'))
          : 'not found',
      );
      return;
    }
    res.writeHead(200, {
      ...isolation,
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Headless Chromium, from Debian's package. `gpu: true` keeps the GPU process, so that pages get
 * WebGL (on SwiftShader, in software, where the machine has no GPU).
 */
export async function launchChromium(options: { gpu?: boolean } = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      ...(options.gpu ? ['--enable-unsafe-swiftshader'] : ['--disable-gpu']),
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * A new page that records its errors into the returned array: uncaught exceptions, console.error
 * (of the page and its workers), failed requests and HTTP errors. The site has no favicon: the
 * browser's own request for one is no error of the page.
 */
export async function recordingPage(
  browser: Browser,
  origin: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${String(e)}`));
  page.on('console', (m) => {
    if (
      m.type() === 'error' &&
      !new URL(m.location().url || origin).pathname.endsWith('/favicon.ico')
    )
      errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('requestfailed', (r) =>
    errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`),
  );
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
      errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { page, errors };
}
