import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';

/** The Dockerfile and Kubernetes manifests cannot be built or applied here, so their content is validated. */
const ROOT = join(__dirname, '..', '..');
const REPO = join(ROOT, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
type Doc = Record<string, any>;
const docs = (path: string) => loadAll(read(path)) as Doc[];

test('Dockerfile: multi-stage, non-root, health check on /live, runs dist/main.js, copies paths that exist', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.match(/^FROM\s+\S+(\s+AS\s+\S+)?/gim) ?? [];
  expect(stages.length).toBeGreaterThanOrEqual(2);
  expect(stages).toEqual([
    'FROM node:${NODE_VERSION}-bookworm-slim AS build',
    'FROM node:${NODE_VERSION}-bookworm-slim AS runtime',
  ]);
  // One Node for both stages, declared before the first FROM (the only place a FROM can read it): an LTS line, even
  // by number, and 22 or later, which the AWS SDK's releases from 2027 need. .ci/run tests the proxy on it.
  const nodeVersion = /^ARG NODE_VERSION=(\d+)\.\d+\.\d+$/m.exec(dockerfile);
  expect(nodeVersion).not.toBeNull();
  expect(nodeVersion!.index).toBeLessThan(dockerfile.indexOf('\nFROM '));
  expect(Number(nodeVersion![1]) % 2).toBe(0);
  expect(Number(nodeVersion![1])).toBeGreaterThanOrEqual(22);
  // jemalloc: the library preloaded is the link the runtime stage makes to the package it installs, and MALLOC_CONF
  // holds only options this jemalloc (5.3) knows, each with a value.
  const runtime = dockerfile.slice(dockerfile.indexOf(stages[1]!));
  expect(runtime).toMatch(/apt-get install -y --no-install-recommends libjemalloc2 /);
  const preload = /^\s*LD_PRELOAD=(\S+) \\$/m.exec(runtime)?.[1];
  expect(preload).toBe('/usr/local/lib/libjemalloc.so.2');
  expect(runtime).toContain(`ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" ${preload}\n`);
  const conf = /^\s*MALLOC_CONF=(\S+)$/m.exec(runtime)?.[1] ?? '';
  const options = conf.split(',').map((pair) => pair.split(':'));
  for (const [name, value, ...rest] of options) {
    expect(['background_thread', 'narenas', 'dirty_decay_ms', 'muzzy_decay_ms']).toContain(name);
    expect(value).toMatch(/^(true|false|-?\d+)$/);
    expect(rest).toEqual([]);
  }
  expect(options.map(([name]) => name)).toContain('narenas');
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/^HEALTHCHECK .*/m);
  expect(dockerfile).toContain("'/live'");
  expect(dockerfile).toMatch(
    /^CMD \["node", "--max-semi-space-size=16", "services\/tenant-security-proxy\/dist\/main\.js"\]$/m,
  );
  expect(dockerfile).toMatch(/^EXPOSE 7777 9000$/m);
  // Every COPY from the build context names a file or folder of the repository.
  for (const match of dockerfile.matchAll(/^COPY (?!--from)((?:\S+ )+)\S+$/gm)) {
    for (const source of match[1]!.trim().split(/\s+/)) expect(existsSync(join(REPO, source))).toBe(true);
  }
  // The entry the image runs exists in the build config, and importing the package does not start a proxy.
  const pkg = JSON.parse(read('package.json')) as {
    main: string;
    exports: Record<string, unknown>;
    scripts: Record<string, string>;
  };
  expect(pkg.scripts.start).toBe('node dist/main.js');
  expect(pkg.exports['./main']).toBe('./dist/main.js');
  expect(pkg.main).toBe('./dist/index.js');
  expect(existsSync(join(ROOT, 'src', 'main.ts'))).toBe(true);
});

test('Kubernetes: Deployment with probes, limits and the .env Secret; Service; HPA; all wired together', () => {
  const kustomization = docs('k8s/kustomization.yaml')[0]!;
  expect(kustomization.kind).toBe('Kustomization');
  const files = kustomization.resources as string[];
  const all = files.flatMap((file) => docs(`k8s/${file}`));
  const byKind = Object.fromEntries(all.map((doc) => [doc.kind, doc])) as Record<string, Doc>;
  expect(Object.keys(byKind).sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'Service']);
  for (const doc of all) {
    expect(typeof doc.apiVersion).toBe('string');
    expect(doc.metadata.name).toBe('opencmk-tsp');
  }

  const deployment = byKind.Deployment!;
  expect(deployment.apiVersion).toBe('apps/v1');
  const podLabels = deployment.spec.template.metadata.labels;
  for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) expect(podLabels[key]).toBe(value);
  const container = deployment.spec.template.spec.containers[0];
  expect(container.ports.map((p: Doc) => [p.name, p.containerPort])).toEqual([
    ['api', 7777],
    ['health', 9000],
  ]);
  expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'health' });
  expect(container.livenessProbe.httpGet).toEqual({ path: '/live', port: 'health' });
  expect(container.startupProbe.httpGet.path).toBe('/ready');
  for (const kind of ['requests', 'limits']) {
    expect(container.resources[kind].cpu).toBeDefined();
    expect(container.resources[kind].memory).toMatch(/^\d+Mi$/);
  }
  expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
  // The Secret the pods read is the one kustomize generates from the broker's .env.
  const secretName = container.envFrom[0].secretRef.name;
  expect(kustomization.secretGenerator).toEqual([expect.objectContaining({ name: secretName, envs: ['proxy.env'] })]);
  expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(15);

  const service = byKind.Service!;
  for (const [key, value] of Object.entries(service.spec.selector)) expect(podLabels[key]).toBe(value);
  expect(service.spec.ports.map((p: Doc) => p.targetPort).sort()).toEqual(['api', 'health']);

  const hpa = byKind.HorizontalPodAutoscaler!;
  expect(hpa.apiVersion).toBe('autoscaling/v2');
  expect(hpa.spec.scaleTargetRef).toEqual({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: deployment.metadata.name,
  });
  expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
  expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
});

test('the example .env names every variable of contracts §2 that has no default', () => {
  const example = read('k8s/proxy.env.example');
  for (const name of [
    'OPENCMK_BROKER_URL',
    'OPENCMK_PROXY_CONFIG_ID',
    'OPENCMK_VENDOR_ID',
    'OPENCMK_PROXY_PRIVATE_KEY',
    'OPENCMK_BROKER_TOKEN',
    'API_KEY',
  ]) {
    expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  }
  expect(read('.gitignore')).toContain('k8s/proxy.env');
});
