// The docs site's pages in Chromium (`npm run test:demo`): builds the site once (global-setup.ts),
// serves it, trains 20 steps on /demo and looks up nearest neighbours on /neighbours. Not part of
// `npm test` (it builds the whole site).
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'demo',
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.test.ts'],
  globalSetup: '<rootDir>/global-setup.ts',
  maxWorkers: 1,
  testTimeout: 900000,
};
