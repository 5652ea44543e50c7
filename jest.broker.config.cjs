const preset = require('./jest.preset.cjs');

const swcOptions = preset.transform['^.+\\.(t|j|mj)sx?$'][1];

/** @type {import('jest').Config} */
module.exports = {
  ...preset,
  displayName: 'broker',
  rootDir: __dirname,
  roots: ['<rootDir>/tests'],
  testMatch: ['<rootDir>/tests/{unit,integration}/**/*.test.ts'],
  // Integration files start their own database (PGlite compiles its WASM per file) on a shared, busy machine.
  testTimeout: 60_000,
  transform: {
    ...preset.transform,
    // PGlite's CommonJS build loads Node built-ins with import(), which jest's CommonJS runtime cannot run without
    // --experimental-vm-modules; SWC rewrites those to require().
    '^.+/@electric-sql/pglite/dist/.+\\.cjs$': [require.resolve('@swc/jest'), swcOptions],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(@noble|@bufbuild|next-auth|@auth|oauth4webapi|jose|preact|preact-render-to-string|oidc-provider|@electric-sql)/)',
  ],
  moduleNameMapper: {
    '^@/(.*)$': '<rootDir>/$1',
    '^server-only$': '<rootDir>/tests/support/empty.cjs',
    ...preset.moduleNameMapper,
  },
};
