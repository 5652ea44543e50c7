#!/usr/bin/env node
/**
 * `npm run emulators`: starts every emulator on 127.0.0.1, prints ONE JSON document (a single line on stdout: every
 * endpoint, the CA path and PEM, and with the default demo seed the registered credentials), then serves until
 * SIGINT/SIGTERM. Diagnostics go to stderr so stdout stays machine-readable.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startEmulators } from './emulators.js';

const USAGE = `usage: emulators [--seed demo|none] [--host 127.0.0.1] [--ca-file PATH] [--output PATH]
                 [--aws-port N] [--gcp-http-port N] [--gcp-https-port N] [--azure-port N]
                 [--sinks-http-port N] [--sinks-https-port N]`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new Error(`${flag}: expected a port number, got ${value}`);
  return parsed;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string', default: 'demo' },
        host: { type: 'string', default: '127.0.0.1' },
        'ca-file': { type: 'string' },
        output: { type: 'string' },
        'aws-port': { type: 'string' },
        'gcp-http-port': { type: 'string' },
        'gcp-https-port': { type: 'string' },
        'azure-port': { type: 'string' },
        'sinks-http-port': { type: 'string' },
        'sinks-https-port': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
    if (values.help) {
      process.stderr.write(`${USAGE}\n`);
      return;
    }
    if (values.seed !== 'demo' && values.seed !== 'none')
      throw new Error(`--seed: expected demo or none, got ${values.seed}`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  let ports;
  try {
    ports = {
      aws: port(values['aws-port'], '--aws-port'),
      gcpHttp: port(values['gcp-http-port'], '--gcp-http-port'),
      gcpHttps: port(values['gcp-https-port'], '--gcp-https-port'),
      azure: port(values['azure-port'], '--azure-port'),
      sinksHttp: port(values['sinks-http-port'], '--sinks-http-port'),
      sinksHttps: port(values['sinks-https-port'], '--sinks-https-port'),
    };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const emulators = await startEmulators({
    host: values.host,
    seed: values.seed as 'demo' | 'none',
    caFile: values['ca-file'],
    ports,
  });
  const document = JSON.stringify(emulators.describe());
  if (values.output) await writeFile(values.output, `${document}\n`, { mode: 0o600 });
  process.stdout.write(`${document}\n`);
  process.stderr.write(
    `emulators ready: aws ${emulators.aws.url}, gcp ${emulators.gcp.httpUrl} / ${emulators.gcp.httpsUrl}, azure ${emulators.azure.vaultUrl}, sinks ${emulators.sinks.httpsUrl}; CA ${emulators.ca.path}\n`,
  );
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    emulators.close().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`close failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error) => {
  process.stderr.write(`emulators failed to start: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
