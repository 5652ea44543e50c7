// The minimal "stand-in" of performance-notes.md, for calibration on the day: node:http, JSON body parsed, one
// leased AES-256-GCM wrap (KeyObject, pooled randomness, fixed-layout EDEK), no auth, validation, metrics or events.
import { createServer } from 'node:http';
import { leasedKeyObject, randomKey32, wrapNewDek } from '../dist/leased-crypto.js';
import { encodeLeasedKeyEnvelope, LeasedEdekEncoder } from '../dist/edek.js';

const key = leasedKeyObject(randomKey32());
const encoder = new LeasedEdekEncoder(1, 'bench-leased', 12345, encodeLeasedKeyEnvelope(1, Buffer.alloc(184, 7)));
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const w = wrapNewDek(key);
    const body = `{"dek":"${w.dek.toString('base64')}","edek":"${encoder.encode(w.sealed, w.iv)}"}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
