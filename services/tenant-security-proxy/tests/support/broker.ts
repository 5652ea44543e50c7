/**
 * The one place these tests choose their broker: the contract-exact test server (test-broker.ts), which lets a test
 * set any snapshot (10,000 tenants, broker down, arbitrary statuses) in a line. The same proxy runs against the
 * broker's own route handlers and database in the root suite tests/integration/proxy-with-broker.test.ts, and
 * against the whole Next.js broker in tests/system.
 */
export {
  startTestBroker as startBroker,
  type BrokerHandle,
  type TenantSpec,
  type KmsConfigSpec,
  type LoggingConfigSpec,
} from './test-broker.js';
