import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defineConfig } from 'vitepress';

const docsDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const guide = ['index', 'getting-started', 'config', 'plugins'];

/** Title of a page: its first `# heading`, else its file name. */
function titleOf(file: string): string {
  const heading = /^#\s+(.+)$/m.exec(readFileSync(path.join(docsDir, file), 'utf8'));
  return heading ? heading[1].replace(/`/g, '') : file.replace(/\.md$/, '');
}

// Every other docs/*.md page (one per package, written by its engineer) is listed automatically.
const packagePages = readdirSync(docsDir)
  .filter((f) => f.endsWith('.md') && !guide.includes(f.replace(/\.md$/, '')))
  .sort()
  .map((f) => ({ text: titleOf(f), link: `/${f.replace(/\.md$/, '')}` }));

export default defineConfig({
  title: 'supcon',
  description: 'Supervised Contrastive Learning for TensorFlow.js',
  cleanUrls: true,
  ignoreDeadLinks: [/^\.\.\//, /^\/packages\//],
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/getting-started' },
      { text: 'Config', link: '/config' },
      { text: 'Plugins', link: '/plugins' },
    ],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Introduction', link: '/' },
          { text: 'Getting started', link: '/getting-started' },
          { text: 'Config files', link: '/config' },
          { text: 'Writing plugins', link: '/plugins' },
        ],
      },
      { text: 'Packages', items: packagePages },
    ],
    search: { provider: 'local' },
  },
});
