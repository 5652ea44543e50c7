// `npm test`: unit and integration tests of the broker and of every workspace, in one run.
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    '<rootDir>/jest.broker.config.cjs',
    '<rootDir>/packages/crypto',
    '<rootDir>/packages/tenant-security-client',
    '<rootDir>/services/kms-emulator',
    '<rootDir>/services/tenant-security-proxy',
  ],
};
