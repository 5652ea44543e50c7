const preset = require('./jest.preset.cjs');

// Browser and whole-system tests: Playwright (playwright-core) driving Debian's /usr/bin/chromium.
/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/tests/e2e/**/*.test.ts', '<rootDir>/packages/*/tests/browser/**/*.test.ts'],
  moduleNameMapper: { '^@/(.*)$': '<rootDir>/$1', ...preset.moduleNameMapper },
  testTimeout: 120000,
};
