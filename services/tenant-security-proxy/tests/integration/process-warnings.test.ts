import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { spawnProxy, waitForReady, type ProxyProcess } from '../support/proxy-process.js';

let broker: BrokerHandle;
let proxy: ProxyProcess | undefined;

/** A preload (Node's own mechanism, through NODE_OPTIONS) that raises a warning once the proxy is up. */
function warningPreload(): string {
  const preload = join(mkdtempSync(join(tmpdir(), 'tsp-warning-')), 'warn.cjs');
  writeFileSync(
    preload,
    `setTimeout(() => process.emitWarning('the test warning', { type: 'TestWarning', code: 'OPENCMK_TEST' }), 1000);
     setTimeout(() => process.stdout.write(JSON.stringify({ msg: 'preload done' }) + '\\n'), 1500);`,
  );
  return preload;
}

beforeAll(async () => {
  broker = await startBroker();
}, 30_000);

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
}, 30_000);

afterAll(async () => {
  await broker?.close();
}, 30_000);

test('a process warning is a JSON log entry on stdout, not text on stderr', async () => {
  proxy = await spawnProxy({ ...broker.proxyEnv, NODE_OPTIONS: `--require ${warningPreload()}` });
  await waitForReady(proxy.healthUrl);
  const line = await proxy.waitForLine((l) => l.msg === 'process warning');
  expect(line).toMatchObject({
    level: 40,
    service: 'tenant-security-proxy',
    warning: { name: 'TestWarning', code: 'OPENCMK_TEST', message: 'the test warning' },
  });
  expect(proxy.stderr.join('')).not.toContain('the test warning');
}, 60_000);

test('NODE_NO_WARNINGS=1 still silences them', async () => {
  proxy = await spawnProxy({
    ...broker.proxyEnv,
    NODE_OPTIONS: `--require ${warningPreload()}`,
    NODE_NO_WARNINGS: '1',
  });
  await waitForReady(proxy.healthUrl);
  await proxy.waitForLine((l) => l.msg === 'preload done');
  expect(proxy.lines.filter((l) => l.msg === 'process warning')).toEqual([]);
  expect(proxy.stderr.join('')).not.toContain('the test warning');
}, 60_000);
