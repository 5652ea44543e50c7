import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { EXPECTED_KNOWN_ANSWER_COUNTS, VECTOR_FILES } from '../kat/known-answer-suite.js';
import { vectorsDirectory } from '../kat/load-vectors.js';
import type { BrowserRunReport } from './harness/browser-entry.js';

// The same known-answer and property suites as in Node, run in Debian's Chromium against the esbuild browser bundle.
const packageDir = path.join(__dirname, '..', '..');
const BROWSER_BUDGET = { roundTripRuns: 20, bitFlipRuns: 100, otherContextRuns: 20 };

describe('@opencmk/crypto browser bundle in Chromium', () => {
  let bundleDir = '';
  let server: Server;
  let browser: Browser;
  let baseUrl = '';

  beforeAll(async () => {
    bundleDir = mkdtempSync(path.join(tmpdir(), 'opencmk-crypto-bundle-'));
    execFileSync(process.execPath, [path.join(packageDir, 'scripts', 'build-browser-bundle.mjs'), '--outdir', bundleDir, '--with-test-suites'], { stdio: 'pipe' });
    const vectors = vectorsDirectory();
    const routes = new Map<string, { file: string; type: string }>([
      ['/opencmk-crypto.js', { file: path.join(bundleDir, 'opencmk-crypto.js'), type: 'text/javascript' }],
      ['/opencmk-crypto-test-suites.js', { file: path.join(bundleDir, 'opencmk-crypto-test-suites.js'), type: 'text/javascript' }],
      ...VECTOR_FILES.map((name) => [`/vectors/${name}`, { file: path.join(vectors, name), type: 'application/json' }] as const),
    ]);
    server = createServer((request, response) => {
      const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      if (pathname === '/') {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>opencmk crypto</title>');
        return;
      }
      const route = routes.get(pathname);
      if (!route) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': route.type }).end(readFileSync(route.file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it('passes every known answer, every property and a real 64 MiB argon2id round trip in the page', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${baseUrl}/`);
    const options = { libraryUrl: `${baseUrl}/opencmk-crypto.js`, vectorsBaseUrl: `${baseUrl}/vectors`, budget: BROWSER_BUDGET, realArgon2: true };
    // A string expression, so the test compiler cannot rewrite the dynamic import into require().
    const report = (await page.evaluate(
      `import(${JSON.stringify(`${baseUrl}/opencmk-crypto-test-suites.js`)}).then((suites) => suites.runAll(${JSON.stringify(options)}))`,
    )) as BrowserRunReport;

    expect(report.userAgent).toMatch(/Chrome\//);
    expect(report.knownAnswers.failures).toEqual([]);
    expect(report.knownAnswers).toEqual(EXPECTED_KNOWN_ANSWER_COUNTS);
    expect(report.knownAnswers.hpke.encryptionsOpened).toBe(1542);

    const propertyNames = Object.keys(report.properties);
    expect(propertyNames).toHaveLength(7);
    for (const name of propertyNames) expect({ name, result: report.properties[name] }).toEqual({ name, result: expect.any(Number) });
    expect(Object.values(report.properties).every((runs) => typeof runs === 'number' && runs > 0)).toBe(true);

    expect(report.protectedKey).toMatchObject({
      blobPrefix: 'T0NQAQ',
      storedParams: { memoryKiB: 65536, iterations: 3, parallelism: 1 },
      unlocked: true,
      wrongPassphraseCode: 'WRONG_PASSPHRASE',
    });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
