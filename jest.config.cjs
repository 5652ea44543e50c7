// `npm test`: unit and integration tests of the broker and of every workspace, in one run.
/** @type {import('jest').Config} */
module.exports = {
  // A global option: jest ignores the projects' own testTimeout when they run together, so the limit is set here.
  // CI shares two cores among every suite; limits catch hangs, speed is measured by the benchmarks.
  testTimeout: 60_000,
  projects: [
    '<rootDir>/jest.broker.config.cjs',
    '<rootDir>/packages/crypto',
    '<rootDir>/packages/tenant-security-client',
    '<rootDir>/services/kms-emulator',
    '<rootDir>/services/tenant-security-proxy',
  ],
};
