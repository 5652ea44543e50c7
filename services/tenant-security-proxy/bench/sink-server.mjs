// A webhook sink in its own process for the "events flowing to a sink" run: accepts every delivery (204).
import { createServer } from 'node:http';

let events = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    events += JSON.parse(Buffer.concat(chunks).toString('utf8')).events.length;
    res.writeHead(204);
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('message', () => process.send?.({ events }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
