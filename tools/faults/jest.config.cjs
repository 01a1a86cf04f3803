// The fault-injection suite (`npm run test:faults`): kills, full and read-only disks, memory over
// 200 steps, all through the built CLI (the root script builds it first). Not part of `npm test`.
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'faults',
  rootDir: __dirname,
  testMatch: ['<rootDir>/*.test.ts'],
  // The suites spawn training processes and run them two at a time themselves.
  maxWorkers: 1,
  testTimeout: 600000,
};
