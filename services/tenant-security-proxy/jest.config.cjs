const preset = require('../../jest.preset.cjs');

/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  displayName: 'tenant-security-proxy',
  rootDir: __dirname,
  // The integration suites run the proxy as a process against emulators; a busy shared machine needs headroom.
  testTimeout: 30_000,
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  testPathIgnorePatterns: [...preset.testPathIgnorePatterns, '/tests/browser/'],
};
