module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: '@supcon/backends',
};
