// The docs site's in-browser demo in Chromium (`npm run test:demo`): builds the site, serves it,
// trains 20 steps on /demo. Not part of `npm test` (it builds the whole site).
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'demo',
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 900000,
};
