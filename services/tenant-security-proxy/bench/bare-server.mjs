// Baseline (a): a bare node:http server that reads the POST body and answers a JSON body of the same shape and
// size as a leased wrap response. It is the ceiling for any HTTP service on this machine.
import { createServer } from 'node:http';

const size = Number(process.argv[2] ?? 400);
const dek = 'A'.repeat(44);
const body = JSON.stringify({ dek, edek: 'B'.repeat(Math.max(0, size - 20 - dek.length)) });
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
