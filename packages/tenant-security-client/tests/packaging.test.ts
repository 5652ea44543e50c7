/**
 * The published shape: the build, `require()` and `import` of the package name through its
 * exports map (with types next to each), and the `npm pack` file list.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const packageDir = path.join(__dirname, '..');
const run = (command: string, args: string[]) =>
  execFileSync(command, args, { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const usage = `
  const client = new api.TenantSecurityClient('http://127.0.0.1:7777/', 'key');
  const header = Buffer.from([3, 0x49, 0x52, 0x4f, 0x4e, 0, 0, 1]);
  const result = {
    client: typeof client.encryptDocument,
    ciphertext: client.isCiphertext(header),
    metadata: new api.DocumentMetadata('t', 'u').toJsonStructure().tenantId,
    code: api.TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
    event: api.UserEvent.LOGIN.getFlatEvent(),
    exception: new api.TscException(902, 'x') instanceof api.TenantSecurityException,
  };
  client.close();
  console.log(JSON.stringify(result));`;
const expected = {
  client: 'function',
  ciphertext: true,
  metadata: 't',
  code: 901,
  event: 'USER_LOGIN',
  exception: true,
};

// Child processes (node, tsc, npm) on a busy machine: generous per-test time.
jest.setTimeout(60_000);

// Builds over the existing dist (no clean first), so that other suites running meanwhile never find it missing.
beforeAll(() => {
  run('npm', ['run', 'build', '--silent']);
}, 120_000);

describe('package', () => {
  it('builds ESM and CommonJS with declarations for each', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cjs/index.cjs',
      'dist/cjs/index.d.cts',
      'dist/cjs/client.d.cts',
    ]) {
      expect(existsSync(path.join(packageDir, file))).toBe(true);
    }
  });

  it('works from CommonJS (require) through the exports map', () => {
    const output = run('node', ['-e', `const api = require('@opencmk/tenant-security-client'); ${usage}`]);
    expect(JSON.parse(output)).toEqual(expected);
  });

  it('works from ESM (import) through the exports map', () => {
    const output = run('node', [
      '--input-type=module',
      '-e',
      `import * as api from '@opencmk/tenant-security-client'; ${usage}`,
    ]);
    expect(JSON.parse(output)).toEqual(expected);
  });

  it('typechecks for ESM and CommonJS consumers through the exports map (module nodenext)', () => {
    // Inside the package so that resolution walks up to the workspace's node_modules.
    const consumer = mkdtempSync(path.join(packageDir, '.types-check-'));
    try {
      const source = `import { TenantSecurityClient, DocumentMetadata, TscException, type BatchResult } from '@opencmk/tenant-security-client';
const client = new TenantSecurityClient('https://tsp.example.com', 'key', { timeoutMs: 1000 });
const result: Promise<BatchResult<unknown>> = client.encryptDocumentBatch({ a: { f: new Uint8Array(1) } }, new DocumentMetadata('t', 'u'));
const code: number = new TscException(902, 'x').errorCode;
void result; void code;
`;
      writeFileSync(path.join(consumer, 'esm.mts'), source);
      writeFileSync(path.join(consumer, 'cjs.cts'), source);
      writeFileSync(
        path.join(consumer, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: ['node'],
          },
          files: ['esm.mts', 'cjs.cts'],
        }),
      );
      const tsc = require.resolve('typescript/bin/tsc');
      expect(() => run(process.execPath, [tsc, '-p', path.join(consumer, 'tsconfig.json')])).not.toThrow();
    } finally {
      rmSync(consumer, { recursive: true, force: true });
    }
  });

  it('packs dist, proto and README without sources, tests or source maps', () => {
    const [pack] = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'])) as {
      files: { path: string }[];
    }[];
    const files = pack!.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'proto/document_header.proto',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cjs/index.cjs',
        'dist/cjs/index.d.cts',
      ]),
    );
    expect(
      files.filter((file) => file.startsWith('src/') || file.startsWith('tests/') || file.endsWith('.map')),
    ).toEqual([]);
  });
});
