import { ProxyMetrics } from '../../src/metrics.js';

test('request counts and latency land under their own labels when consecutive requests differ', async () => {
  const metrics = new ProxyMetrics(
    () => 0,
    () => 0,
  );
  const sequence: [string, number, string, string, number][] = [
    ['document/wrap', 0, 'nodejs', '4.1', 0.0004],
    ['document/wrap', 0, 'nodejs', '4.1', 0.002],
    ['document/wrap', 201, 'nodejs', '4.1', 0.0004],
    ['document/unwrap', 0, 'nodejs', '4.1', 0.03],
    ['document/wrap', 0, 'java', '4.1', 0.0004],
    ['document/wrap', 0, 'nodejs', '4.2', 0.0004],
    ['document/wrap', 0, 'nodejs', '4.1', 0.0004],
  ];
  for (const [route, code, language, version, seconds] of sequence)
    metrics.recordRequest(route, code, language, version, seconds);
  const text = await metrics.registry.metrics();
  const count = (labels: string) =>
    Number(new RegExp(`^tsp_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
  expect(count('route="document/wrap",code="0",language="nodejs",version="4.1"')).toBe(3);
  expect(count('route="document/wrap",code="201",language="nodejs",version="4.1"')).toBe(1);
  expect(count('route="document/unwrap",code="0",language="nodejs",version="4.1"')).toBe(1);
  expect(count('route="document/wrap",code="0",language="java",version="4.1"')).toBe(1);
  expect(count('route="document/wrap",code="0",language="nodejs",version="4.2"')).toBe(1);
  expect(text).toMatch(/^tsp_request_duration_seconds_count\{route="document\/wrap"\} 6$/m);
  expect(text).toMatch(/^tsp_request_duration_seconds_count\{route="document\/unwrap"\} 1$/m);
  expect(text).toMatch(/^tsp_request_duration_seconds_bucket\{le="0.0025",route="document\/wrap"\} 6$/m);
  expect(text).toMatch(/^tsp_request_duration_seconds_bucket\{le="0.0005",route="document\/wrap"\} 5$/m);
});
