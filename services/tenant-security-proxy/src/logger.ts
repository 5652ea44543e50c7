import { pino, type Logger, type DestinationStream } from 'pino';
import { sharedStdout } from './stdout-stream.js';

export type { Logger };

/**
 * JSON logs, by default to the shared non-blocking stdout (a slow log reader never stalls a request). Secrets never
 * reach a log call by design (configs, keys and DEKs are never passed to the logger); the redaction list is a second
 * line of defence for fields that carry them in request or config objects.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tenant-security-proxy' },
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'req.headers.authorization',
          'apiKey',
          'brokerToken',
          'privateKey',
          'secretAccessKey',
          'clientSecret',
          'private_key',
          'token',
          'hmacSecret',
          'dek',
        ],
        censor: '[redacted]',
      },
    },
    // Through StdoutStream#write, like stdout events: one writer, one byte count, lines never interleaved.
    destination ?? sharedStdout(),
  );
}
