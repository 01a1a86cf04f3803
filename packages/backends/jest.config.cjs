module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: '@supcon/backends',
  // initBackend registers tfjs's gradients from tfjs-core's ES modules (its CJS bundle has none):
  // transform those, not the CJS bundle (tf-core.node.js) nor any other package.
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core))'],
};
