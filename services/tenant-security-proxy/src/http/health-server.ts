import { createServer, type Server } from 'node:http';
import type { ProxyMetrics } from '../metrics.js';

export interface HealthState {
  live(): boolean;
  ready(): boolean;
  details(): Record<string, unknown>;
}

/** `/health` (details), `/live`, `/ready` and Prometheus `/metrics` on HEALTH_PORT (PROTOCOL.md §4). */
export function createHealthServer(state: HealthState, metrics: ProxyMetrics): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, {
        'content-type': type,
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, '{"error":"method not allowed"}');
    switch (path) {
      case '/live':
        return state.live() ? send(200, '{"status":"live"}') : send(503, '{"status":"stopping"}');
      case '/ready':
        return state.ready() ? send(200, '{"status":"ready"}') : send(503, '{"status":"not ready"}');
      case '/health': {
        const ready = state.ready();
        return send(ready ? 200 : 503, JSON.stringify({ status: ready ? 'ok' : 'not ready', ...state.details() }));
      }
      case '/metrics':
        metrics.registry.metrics().then(
          (text) => send(200, text, metrics.registry.contentType),
          () => send(500, '{"error":"metrics unavailable"}'),
        );
        return;
      default:
        return send(404, '{"error":"not found"}');
    }
  });
}
