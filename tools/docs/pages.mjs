// The docs site's hand-written pages, as prepare.mjs and check-examples.mjs walk them.
import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * docs/**\/*.md under `docs`, sorted: not the generated api/ and reference/ folders at its top,
 * nor dot folders, node_modules or public/.
 */
export function handWrittenPages(docs, dir = docs) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'public')
      continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (dir === docs && (entry.name === 'api' || entry.name === 'reference')) continue;
      out.push(...handWrittenPages(docs, full));
    } else if (entry.name.endsWith('.md')) out.push(full);
  }
  return out.sort();
}
