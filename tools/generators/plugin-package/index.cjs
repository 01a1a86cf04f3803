// @ts-check
// Nx generator: scaffolds a package that exports a supcon plugin.
//   npx nx g @supcon/tools:plugin-package my-loss --kind=loss
const path = require('node:path');
const { generateFiles, formatFiles, joinPathFragments, offsetFromRoot, readJson, names } = require('@nx/devkit');

/** Plugin map key for each part kind (see @supcon/core PART_KINDS). */
const MAP_KEY = {
  loss: 'losses', backbone: 'backbones', head: 'heads', augmentation: 'augmentations', sampler: 'samplers',
  dataset: 'datasets', evaluator: 'evaluators', optimizer: 'optimizers', schedule: 'schedules', hook: 'hooks',
};

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {{ name: string, scope?: string, directory?: string, kind?: keyof typeof MAP_KEY, description?: string, external?: boolean }} options
 */
async function pluginPackageGenerator(tree, options) {
  const kind = options.kind ?? 'loss';
  if (!['loss', 'augmentation', 'sampler', 'schedule', 'hook'].includes(kind)) throw new Error(`--kind: expected one of loss, augmentation, sampler, schedule, hook, got '${kind}'`);
  const scope = options.scope ?? '@supcon';
  const directory = options.directory ?? joinPathFragments('packages', options.name);
  if (tree.exists(joinPathFragments(directory, 'package.json'))) {
    throw new Error(`${directory}/package.json already exists: choose another --name or --directory`);
  }
  const root = tree.exists('package.json') ? readJson(tree, 'package.json') : {};
  const dev = root.devDependencies ?? {};
  const coreVersion = tree.exists('packages/core/package.json') ? readJson(tree, 'packages/core/package.json').version : '0.1.0';
  const n = names(options.name);
  generateFiles(tree, path.join(__dirname, 'files'), directory, {
    tmpl: '',
    packageName: `${scope}/${options.name}`,
    name: options.name,
    className: n.className,
    propertyName: n.propertyName,
    description: options.description ?? 'A supcon plugin.',
    kind,
    mapKey: MAP_KEY[kind],
    offset: offsetFromRoot(directory),
    external: !!options.external,
    coreVersion: options.external ? `^${coreVersion}` : coreVersion,
    tfjsVersion: (dev['@tensorflow/tfjs-core'] ?? '^4.22.0'),
    zodVersion: (dev['zod'] ?? '^4.0.0'),
  });
  await formatFiles(tree);
  return () => {
    console.log(`Created ${scope}/${options.name} in ${directory}. Run \`npm install\` to link it, then \`npx nx test ${scope}/${options.name}\`.`);
  };
}

module.exports = pluginPackageGenerator;
module.exports.default = pluginPackageGenerator;
