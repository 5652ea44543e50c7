import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { startEmulators } from '@opencmk/kms-emulator';
import { startTestBroker } from '../tests/support/test-broker.js';
const emulators = await startEmulators({ seed: 'demo' });
const demo = emulators.demo!;
const broker = await startTestBroker();
const payload = { provider: 'aws', keyArn: demo.aws.keyArn, region: demo.aws.region, endpoint: demo.aws.endpoint, accessKeyId: demo.aws.tenantUser.accessKeyId, secretAccessKey: demo.aws.tenantUser.secretAccessKey };
broker.setTenant({ tenantId: 'bench-leased', kmsConfigs: [{ id: 1, provider: 'aws', status: 'primary', leasingAllowed: true, payload }] });
if (process.env.BULK) broker.addBulkTenants('bulk-', 10000, { provider: 'aws', status: 'primary', leasingAllowed: true, payload }, 5);
const start = (args: string[], env: any) => new Promise<{ pid: number; port: number; kill: () => void }>((resolve) => {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout!.once('data', (d) => { resolve({ pid: child.pid!, port: JSON.parse(String(d).split('\n')[0]!).port, kill: () => child.kill() }); child.stdout!.resume(); });
});
const ticks = (pid: number) => { const s = readFileSync(process.env.MAIN ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return Number(f[11]) + Number(f[12]); };
const variants: Record<string, string> = { default: 'dist', noevents: 'dist-noevents' };
const procs: Record<string, { pid: number; port: number; kill: () => void }> = {};
for (const [name, dir] of Object.entries(variants)) procs[name] = await start([`/work/main/services/tenant-security-proxy/${dir}/main.js`], { PATH: process.env.PATH, ...broker.proxyEnv, LOG_LEVEL: 'info' });
const bare = await start(['/work/main/services/tenant-security-proxy/bench/bare-server.mjs', '400'], { PATH: process.env.PATH });
await new Promise((r) => setTimeout(r, 1500));
const key = broker.proxyEnv.API_KEY!;
const body = JSON.stringify({ tenantId: 'bench-leased', iclFields: { requestingId: 'bench', dataLabel: 'PII' }, customFields: {} });
const run = async (name: string, pid: number, url: string) => {
  const t0 = ticks(pid);
  const r = await autocannon({ url, connections: 10, duration: 3, method: 'POST', headers: { authorization: `cmk ${key}` }, body });
  console.log(name.padEnd(12), 'rps', r.requests.average.toFixed(0).padStart(6), 'p99', r.latency.p99, 'cpu µs/req', (((ticks(pid) - t0) * 10000) / r.requests.total).toFixed(1));
};
for (let i = 0; i < 3; i++) {
  await run('bare', bare.pid, `http://127.0.0.1:${bare.port}/`);
  for (const [name, p] of Object.entries(procs)) await run(name, p.pid, `http://127.0.0.1:${p.port}/api/1/document/wrap`);
}
for (const p of [...Object.values(procs), bare]) p.kill(); await broker.close(); await emulators.close();
