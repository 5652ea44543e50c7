import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { spawnProxy, waitForReady, type ProxyProcess } from '../support/proxy-process.js';

let broker: BrokerHandle;
let proxy: ProxyProcess | undefined;

beforeAll(async () => {
  broker = await startBroker();
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await broker?.close();
}, 30_000);

test('a process warning is a JSON log entry on stdout, not text on stderr', async () => {
  // A preload (Node's own mechanism, through NODE_OPTIONS) raises a warning once the proxy is up, as a deprecated
  // API or an SDK's notice would.
  const preload = join(mkdtempSync(join(tmpdir(), 'tsp-warning-')), 'warn.cjs');
  writeFileSync(
    preload,
    `setTimeout(() => process.emitWarning('the test warning', { type: 'TestWarning', code: 'OPENCMK_TEST' }), 1000);`,
  );
  proxy = await spawnProxy({ ...broker.proxyEnv, NODE_OPTIONS: `--require ${preload}` });
  await waitForReady(proxy.healthUrl);
  const line = await proxy.waitForLine((l) => l.msg === 'process warning');
  expect(line).toMatchObject({
    level: 40,
    service: 'tenant-security-proxy',
    warning: { name: 'TestWarning', code: 'OPENCMK_TEST', message: 'the test warning' },
  });
  expect(proxy.stderr.join('')).not.toContain('the test warning');
}, 60_000);
