import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;
export type RouteTable = { method: string; pattern: RegExp; handler: Handler }[];

/**
 * A real HTTP server on 127.0.0.1:0 running the broker's route handlers (the same functions Next.js calls), for
 * tests and benchmarks that need real sockets, real long-polls and aborts without a Next build.
 */
export async function startRouteServer(routes: RouteTable): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const url = `http://127.0.0.1${req.url}`;
    const path = new URL(url).pathname;
    const route = routes.find((candidate) => candidate.method === req.method && candidate.pattern.test(path));
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
    const body = chunks.length && req.method !== 'GET' ? Buffer.concat(chunks) : undefined;
    const params = route.pattern.exec(path)!.groups ?? {};
    const response = await route.handler(new Request(url, { method: req.method, headers, body, signal: abort.signal }), { params: Promise.resolve(params) });
    res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
    res.end(response.body ? Buffer.from(await response.arrayBuffer()) : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
