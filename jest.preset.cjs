// Shared jest preset: every package's jest.config.cjs spreads this.
// Tests run against TypeScript sources (swc, no type check: `typecheck` does that),
// and `@supcon/*` imports resolve to the sibling package's src/, never to a stale dist/.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      require.resolve('@swc/jest'),
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleNameMapper: {
    '^@supcon/([a-z0-9-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
  },
  // initBackend (@supcon/backends) registers tfjs's gradients from tfjs-core's ES modules (its
  // CJS bundle has none): transform those, not the CJS bundle (tf-core.node.js) nor any other package.
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core))'],
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 60000,
};
