/**
 * The one place the tests choose their broker. Today: the contract-exact test server (test-broker.ts). When the
 * Next.js broker's proxy API can be started from a test (with PGlite), replace this function's body.
 */
export {
  startTestBroker as startBroker,
  type BrokerHandle,
  type TenantSpec,
  type KmsConfigSpec,
  type LoggingConfigSpec,
} from './test-broker.js';
