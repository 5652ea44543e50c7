// Shared jest settings for every workspace: TypeScript (and the ESM-only dependencies such as @noble/* v2)
// are compiled to CommonJS by SWC, so tests run on plain `jest` without --experimental-vm-modules.
const path = require('node:path');
const root = __dirname;

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)sx?$': [
      require.resolve('@swc/jest'),
      {
        jsc: {
          parser: { syntax: 'typescript', tsx: true },
          target: 'es2022',
          transform: { react: { runtime: 'automatic' } },
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(@noble|@bufbuild|next-auth|@auth|oauth4webapi|jose|preact|preact-render-to-string|oidc-provider)/)',
  ],
  moduleFileExtensions: ['ts', 'tsx', 'js', 'mjs', 'cjs', 'json'],
  moduleNameMapper: {
    // Workspace packages are tested from source, not from their build output.
    '^@opencmk/crypto$': path.join(root, 'packages/crypto/src/index.ts'),
    '^@opencmk/tenant-security-client$': path.join(root, 'packages/tenant-security-client/src/index.ts'),
    '^@opencmk/kms-emulator$': path.join(root, 'services/kms-emulator/src/index.ts'),
    // NodeNext-style relative imports carry a .js extension in TypeScript source.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.next/'],
  // CI shares two cores among every suite (PGlite in WASM, argon2id, real processes): time limits are for hangs,
  // not for speed. Speed is measured by the benchmarks.
  testTimeout: 30000,
};
