#!/usr/bin/env node
// `npm start`: the OpenCMK stack on one machine, no configuration needed.
//
//   node scripts/start.mjs --stack          the whole demo stack (what `npm start` runs): scripts/stack/main.ts
//   node scripts/start.mjs                  the Configuration Broker alone: Next.js production server on embedded
//                                           PGlite in DATA_DIR, built first when .next is missing or stale
//   node scripts/start.mjs --build-only     only that build step (used by the stack and the browser tests)
//
// Broker-only mode keeps each part a `service` ({ name, start(env) -> child process, describe(env) }), started in
// order and stopped together.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
const log = (message) => console.log(`[opencmk] ${message}`);

/** Newest modification time under the broker's sources (what `next build` compiles). */
function newestSourceMtime() {
  const inputs = ['app', 'components', 'lib', 'db', 'public', 'instrumentation.ts', 'proxy.ts', 'next.config.js', 'postcss.config.mjs', 'tsconfig.json', 'package.json'];
  let newest = 0;
  const visit = (entry) => {
    if (!existsSync(entry)) return;
    const stat = statSync(entry);
    if (stat.isDirectory()) for (const child of readdirSync(entry)) visit(path.join(entry, child));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const input of inputs) visit(path.join(root, input));
  return newest;
}

/** Runs a command with its output passed through; resolves with that output, rejects (with it) on failure. */
function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) return resolve(output);
      const error = new Error(`${path.basename(args[0] ?? command)} ${args.slice(1).join(' ')} exited with ${code}`);
      error.output = output;
      reject(error);
    });
  });
}

const buildIsFresh = () => {
  const buildId = path.join(root, '.next', 'BUILD_ID');
  return existsSync(buildId) && statSync(buildId).mtimeMs >= newestSourceMtime();
};

export async function buildBrokerIfStale(env = process.env) {
  if (buildIsFresh()) return false;
  // Another `next build` in the same checkout (a second terminal, a parallel test run) holds Next's build lock:
  // wait for it and use its output when that is fresh, instead of failing.
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    log(existsSync(path.join(root, '.next', 'BUILD_ID')) ? 'sources changed since the last build: next build' : 'first start: next build (takes a minute)');
    try {
      await run(process.execPath, [nextBin, 'build'], { ...env, NODE_ENV: 'production' });
      return true;
    } catch (error) {
      if (!/already running/.test(error.output ?? '') || Date.now() > deadline) throw error;
      log('another next build is running in this checkout; waiting for it');
      await new Promise((resolve) => setTimeout(resolve, 5000));
      if (buildIsFresh()) return false;
    }
  }
}

/** AUTH_SECRET for the local stack: generated once and kept in DATA_DIR (the broker reads the same file in dev). */
function localAuthSecret(dataDir) {
  const file = path.resolve(dataDir, 'auth-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

async function waitForHealth(url, child, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/api/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`broker did not become healthy at ${url} within ${timeoutMs / 1000}s`);
}

const brokerService = {
  name: 'broker',
  async start(env) {
    await buildBrokerIfStale(env);
    const port = env.PORT;
    const child = spawn(process.execPath, [nextBin, 'start', '-p', port, '-H', env.HOST ?? '0.0.0.0'], {
      cwd: root,
      env: { ...env, NODE_ENV: 'production' },
      stdio: 'inherit',
    });
    await waitForHealth(`http://127.0.0.1:${port}`, child);
    return child;
  },
  describe(env) {
    return [
      `Configuration Broker: ${env.BROKER_URL}`,
      `  first start: create the vendor at ${env.BROKER_URL}/first-run (or: npm run broker -- create-vendor --name Acme --admin you@example.com, with the broker stopped)`,
      env.SMTP_URL ? '  sign-in links are sent over SMTP' : `  sign-in links (no SMTP configured): ${env.BROKER_URL}/dev/outbox and this log`,
    ];
  },
};

const services = [brokerService];

// ---- issue 8 (scripts/stack/, owned there): `npm start` passes --stack and gets the whole stack — KMS and log-sink
// emulators, this broker, the demo data and a proxy — from scripts/stack/main.ts (TypeScript, run through tsx with the
// react-server condition the broker code needs). Without --stack this script starts the broker alone. ----
function runWholeStack() {
  const tsxCli = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const child = spawn(process.execPath, [tsxCli, '--conditions=react-server', path.join(root, 'scripts', 'stack', 'main.ts')], { cwd: root, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.exitCode = code ?? (signal ? 1 : 0);
      resolve();
    });
  });
}
// ---- end of issue 8 ----

async function main() {
  if (process.argv.includes('--stack')) return runWholeStack(); // issue 8
  if (process.argv.includes('--build-only')) {
    await buildBrokerIfStale();
    return;
  }
  const port = process.env.PORT || '3000';
  const dataDir = process.env.DATA_DIR || path.join(root, '.data');
  const env = {
    ...process.env,
    PORT: port,
    DATA_DIR: dataDir,
    BROKER_URL: process.env.BROKER_URL || `http://localhost:${port}`,
    AUTH_SECRET: process.env.AUTH_SECRET || localAuthSecret(dataDir),
    // The local stack is the demo: without SMTP, e-mails go to the outbox (refused in production otherwise).
    OPENCMK_DEMO: process.env.SMTP_URL ? process.env.OPENCMK_DEMO ?? '0' : '1',
  };
  const children = [];
  const stop = (code) => {
    for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
    process.exitCode = code;
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  for (const service of services) {
    log(`starting ${service.name}`);
    const child = await service.start(env);
    children.push(child);
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) log(`${service.name} exited with ${code}`);
      stop(code ?? 0);
    });
  }
  console.log(['', ...services.flatMap((service) => service.describe(env)), ''].join('\n'));
}

main().catch((error) => {
  console.error(`[opencmk] ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
