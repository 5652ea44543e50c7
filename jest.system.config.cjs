const preset = require('./jest.preset.cjs');

// Whole-system tests (issue 8): `npm start` as a user runs it, real processes, Debian's /usr/bin/chromium.
/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  displayName: 'system',
  rootDir: __dirname,
  testMatch: ['<rootDir>/tests/system/**/*.test.ts'],
  testTimeout: 120000,
};
