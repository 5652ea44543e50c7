const preset = require('../../jest.preset.cjs');

/** @type {import('jest').Config} */
module.exports = { ...preset, displayName: 'crypto', rootDir: __dirname, testMatch: ['<rootDir>/tests/**/*.test.ts'], testPathIgnorePatterns: [...preset.testPathIgnorePatterns, '/tests/browser/'] };
