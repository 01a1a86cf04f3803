#!/usr/bin/env node
// The `supcon` command. This file is committed (not built) so that npm links `supcon` into
// node_modules/.bin at the first `npm ci`; it only loads the built CLI in ../dist.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const built = new URL('../dist/bin.js', import.meta.url);
const howToBuild =
  'Build it from the repository root with `npm run build` (every package), or `npx nx run @supcon/cli:build`, then run supcon again.';

if (!existsSync(fileURLToPath(built))) {
  process.stderr.write(`supcon: the CLI is not built: ${fileURLToPath(built)} is missing. ${howToBuild}\n`);
  process.exit(1);
}
try {
  await import(built.href);
} catch (error) {
  // A workspace package the CLI imports that has not been built (its dist/ is missing).
  const message = error instanceof Error ? error.message : String(error);
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && /[\\/]dist[\\/]/.test(message)) {
    process.stderr.write(`supcon: part of the CLI is not built: ${message}\n${howToBuild}\n`);
    process.exit(1);
  }
  throw error;
}
