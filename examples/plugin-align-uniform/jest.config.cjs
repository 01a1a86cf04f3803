module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'supcon-plugin-align-uniform',
};
