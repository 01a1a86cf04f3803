import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defineConfig } from 'vitepress';
import type { DefaultTheme } from 'vitepress';

const docsDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Title of a page: its first `# heading`, else its file name. */
function titleOf(file: string): string {
  const heading = /^#\s+(.+)$/m.exec(readFileSync(path.join(docsDir, file), 'utf8'));
  return heading
    ? heading[1].replace(/`/g, '').replace(/\s*\{#[^}]*\}\s*$/, '')
    : path.basename(file, '.md');
}

const exists = (page: string) => existsSync(path.join(docsDir, `${page}.md`));
const item = (page: string, text?: string): DefaultTheme.SidebarItem => ({
  text: text ?? titleOf(`${page}.md`),
  link: `/${page === 'index' ? '' : page}`,
});

// Guides, in reading order; a page listed here that does not exist (yet) is left out.
const guides: [page: string, text: string][] = [
  ['index', 'Introduction'],
  ['getting-started', 'Quick start'],
  ['guide/paper', 'The paper in brief'],
  ['guide/concepts', 'Concepts'],
  ['config', 'Config files'],
  ['guide/swapping-losses', 'Swapping losses'],
  ['plugins', 'Writing plugins'],
  ['guide/performance', 'Backends and performance'],
  ['guide/reproduce', 'Reproducing Fashion-MNIST'],
  ['guide/sweeps', 'Sweeps and the stability study'],
  ['train', 'Training from code'],
  ['guide/web-app', 'Using a trained encoder in a web app'],
  ['demo', 'In-browser demo'],
  ['neighbours', 'Nearest neighbours in the browser'],
];
// One page per package, in the order of the layers (core, the parts, train, cli).
const packages = [
  'core',
  'losses',
  'backbones',
  'augment',
  'samplers',
  'data',
  'eval',
  'optim',
  'backends',
  'train',
  'cli',
];
// Pages that belong under another one in the sidebar.
const subpages: Record<string, string[]> = { backends: ['backends-kernels'] };

const listed = new Set([
  ...guides.map(([page]) => page),
  ...packages,
  ...Object.values(subpages).flat(),
]);
/** Every other page of docs/ and docs/guide/ (added by someone after this list was written): appended to Guides. */
const unlisted = [
  ...readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => f.replace(/\.md$/, '')),
  ...(existsSync(path.join(docsDir, 'guide'))
    ? readdirSync(path.join(docsDir, 'guide'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `guide/${f.replace(/\.md$/, '')}`)
    : []),
]
  .filter((page) => !listed.has(page))
  .sort();

const guideItems = [
  ...guides.filter(([page]) => exists(page)).map(([page, text]) => item(page, text)),
  ...unlisted.map((page) => item(page)),
];
const subpageTitles: Record<string, string> = { 'backends-kernels': 'wasm training kernels' };
const packageItems = packages.filter(exists).map((page) => {
  const children = (subpages[page] ?? [])
    .filter(exists)
    .map((sub) => item(sub, subpageTitles[sub]));
  const entry = item(page, `@supcon/${page}`);
  return children.length ? { ...entry, collapsed: true, items: children } : entry;
});

// The API reference: docs/api/ is written by TypeDoc (`npm run docs:api`), with its sidebar.
const apiSidebarFile = path.join(docsDir, 'api/typedoc-sidebar.json');
const apiSidebar: DefaultTheme.SidebarItem[] = existsSync(apiSidebarFile)
  ? JSON.parse(readFileSync(apiSidebarFile, 'utf8'))
  : [];
const apiPackages: DefaultTheme.SidebarItem[] = apiSidebar.map((entry) => ({
  text: entry.text,
  link: entry.link,
}));

const apiOverview: DefaultTheme.SidebarItem = {
  text: 'API reference',
  link: '/api/',
  items: apiPackages,
};
/** `/api/core/` -> the overview, then every page of @supcon/core's API (listing all packages' pages on every API page would make each one heavy). */
const apiPackageSidebars: Record<string, DefaultTheme.SidebarItem[]> = Object.fromEntries(
  apiSidebar
    .filter((entry) => entry.link)
    .map((entry) => [
      entry.link!.replace(/index\.md$/, ''),
      [
        { ...apiOverview, collapsed: true },
        { text: entry.text, link: entry.link, items: entry.items ?? [] },
        { text: 'Back to the guides', link: '/' },
      ],
    ]),
);

const referenceItems: DefaultTheme.SidebarItem[] = [
  ...(exists('reference/config') ? [{ text: 'Config reference', link: '/reference/config' }] : []),
  ...(apiSidebar.length
    ? [{ text: 'API', link: '/api/', collapsed: true, items: apiPackages }]
    : []),
];

const mainSidebar: DefaultTheme.SidebarItem[] = [
  { text: 'Guides', items: guideItems },
  { text: 'Packages', items: packageItems },
  ...(referenceItems.length ? [{ text: 'Reference', items: referenceItems }] : []),
];

export default defineConfig({
  title: 'supcon',
  description: 'Supervised Contrastive Learning for TensorFlow.js',
  cleanUrls: true,
  // Dead links fail the build (VitePress's default): none is ignored.
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/getting-started' },
      { text: 'Packages', link: '/core' },
      ...(exists('reference/config')
        ? [{ text: 'Config reference', link: '/reference/config' }]
        : []),
      ...(apiSidebar.length ? [{ text: 'API', link: '/api/' }] : []),
    ],
    sidebar: {
      // The pages of a package's API get that package's sidebar (its classes, interfaces,
      // functions, ...), the API overview the list of packages, every other page the site's.
      ...apiPackageSidebars,
      '/api/': [apiOverview, { text: 'Back to the guides', link: '/' }],
      '/': mainSidebar,
    },
    outline: 'deep',
    search: { provider: 'local' },
  },
});
