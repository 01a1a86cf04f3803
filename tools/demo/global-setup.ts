/**
 * Builds the docs site once for every test of `npm run test:demo` (each test file would otherwise
 * build it again), unless SUPCON_DEMO_DIST names a built one. The tests read SUPCON_DEMO_DIST
 * (serve.ts's builtSite); Chromium missing, they are skipped and nothing is built.
 */
import { existsSync } from 'node:fs';
import { builtSite, chromiumPath } from './serve';

export default function globalSetup(): void {
  if (existsSync(chromiumPath)) builtSite();
}
