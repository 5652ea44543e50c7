'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { base64UrlDecode, open, seal } from '@opencmk/crypto';
import { buildProxyEnv, envValuesOf, generateProxyConfig, newApiKey, openProxyEnv, parseEnv, proxyEnvContext, tenantConfigContext } from '@/lib/browser-sealing';
import { utf8Encode } from '@opencmk/crypto';
import { Badge, Button, Notice, TextField } from '@/components/ui';
import { api, ApiError, errorText } from './broker-api';
import { downloadText, envFilename } from './download';
import type { UnlockedKeys } from './key-session';
import { VendorKeyGate, type KeyState } from './vendor-key-gate';

interface ProxyConfigRow {
  id: string;
  name: string;
  status: 'provisioning' | 'active' | 'revoked';
  keyId: string;
  publicKey: string;
  snapshotVersion: number;
  envVersion: number;
  lastContactAt: string | null;
  createdAt: string;
  instances: { instanceId: string; snapshotVersion: number; uptimeSeconds: number; reportedAt: string }[];
}

interface ProvisioningBatch {
  status: string;
  total: number;
  remaining: number;
  items: { kind: 'kms' | 'logging'; configId: number; version: number; tenantId: string; vendorCopy: string }[];
}

const BATCH_SIZE = 200;

/**
 * Seals every tenant config of the vendor to a new proxy configuration: opens each vendor-key copy here and seals it
 * to the configuration's public key, a batch at a time. The broker tracks what is covered, so it resumes after a
 * reload; when nothing remains the configuration becomes active.
 */
function Provisioning({ orgId, keys, config, onDone }: { orgId: string; keys: UnlockedKeys; config: ProxyConfigRow; onDone: () => void }) {
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const running = useRef(false);
  const run = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    try {
      const base = `/api/orgs/${orgId}/proxy-configs/${config.id}`;
      const proxyKey = base64UrlDecode(config.publicKey);
      for (;;) {
        const batch = await api<ProvisioningBatch>(`${base}/provisioning?limit=${BATCH_SIZE}`);
        setProgress({ done: batch.total - batch.remaining, total: batch.total });
        if (batch.remaining === 0 || batch.items.length === 0) break;
        const copies = batch.items.map((item) => {
          const context = tenantConfigContext(item.kind, keys.vendorId, item.tenantId, item.configId, item.version);
          const plaintext = open(item.vendorCopy, keys.vendorPrivateKey!, context);
          const blob = seal(plaintext, proxyKey, context);
          plaintext.fill(0);
          return { kind: item.kind, configId: item.configId, version: item.version, blob };
        });
        const stored = await api<{ stored: number; remaining: number }>(`${base}/provisioning`, { body: { copies } });
        setProgress({ done: batch.total - stored.remaining, total: batch.total });
        if (stored.stored === 0) throw new Error('The broker accepted none of this batch; reload and continue');
      }
      await api(base, { body: { action: 'activate' } });
      onDone();
    } catch (error) {
      setFailure(errorText(error));
    } finally {
      running.current = false;
    }
  }, [orgId, keys, config.id, config.publicKey, onDone]);
  // Starts (or resumes, after a reload) on its own; deferred so a strict-mode double mount runs it once.
  useEffect(() => {
    const timer = setTimeout(() => void run(), 0);
    return () => clearTimeout(timer);
  }, [run]);
  return (
    <div className="space-y-1" data-provisioning={config.name}>
      <progress className="w-full" value={progress?.done ?? 0} max={Math.max(1, progress?.total ?? 1)} aria-label={`Provisioning ${config.name}`} />
      <p className="text-xs text-slate-600" data-provisioning-count>
        {progress ? `${progress.done} of ${progress.total} tenant configs sealed to this configuration` : 'Starting…'}
      </p>
      {failure && (
        <div className="flex items-center gap-2">
          <Notice tone="error">{failure}</Notice>
          <Button kind="secondary" type="button" onClick={() => (setFailure(null), void run())}>
            Continue provisioning
          </Button>
        </div>
      )}
    </div>
  );
}

function ConfigRow({ orgId, keys, config, reload }: { orgId: string; keys: UnlockedKeys; config: ProxyConfigRow; reload: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const base = `/api/orgs/${orgId}/proxy-configs/${config.id}`;
  async function currentEnv() {
    const { proxyConfig } = await api<{ proxyConfig: { sealedEnv: string; envVersion: number } }>(base);
    return { env: openProxyEnv(proxyConfig.sealedEnv, keys.vendorPrivateKey!, keys.vendorId, config.id, proxyConfig.envVersion), envVersion: proxyConfig.envVersion };
  }
  async function download() {
    try {
      downloadText(envFilename(config.name), (await currentEnv()).env);
    } catch (error) {
      setMessage({ tone: 'error', text: errorText(error) });
    }
  }
  /** API key rotation: add a new key as API_KEY_2, deploy, move clients; then promote it to API_KEY. */
  async function rotate() {
    try {
      const { env, envVersion } = await currentEnv();
      const values = envValuesOf(parseEnv(env));
      const step = values.apiKey2 ? 'promote' : 'add';
      const next = step === 'add' ? { ...values, apiKey2: newApiKey() } : { ...values, apiKey: values.apiKey2, apiKey2: '' };
      const text = buildProxyEnv(next);
      const sealedEnv = seal(utf8Encode(text), base64UrlDecode((await api<KeyState>(`/api/orgs/${orgId}/keys`)).vendorKey!.publicKey), proxyEnvContext(keys.vendorId, config.id, envVersion + 1));
      await api(base, { body: { action: 'rotate-env', step, sealedEnv, envVersion: envVersion + 1 } });
      downloadText(envFilename(config.name), text);
      setMessage({
        tone: 'ok',
        text:
          step === 'add'
            ? 'New API key added as API_KEY_2. Deploy the downloaded .env, switch your applications to the new key, then promote it.'
            : 'The new API key is now API_KEY and the old one is gone. Deploy the downloaded .env.',
      });
      reload();
    } catch (error) {
      setMessage({ tone: 'error', text: errorText(error) });
    }
  }
  async function revoke() {
    try {
      await api(base, { body: { action: 'revoke' } });
      setConfirming(false);
      reload();
    } catch (error) {
      setMessage({ tone: 'error', text: errorText(error) });
    }
  }
  const live = config.status !== 'revoked';
  return (
    <tr className="border-b border-slate-100 align-top" data-proxy-config={config.name} data-status={config.status}>
      <td className="py-2">
        <div className="font-medium">{config.name}</div>
        <div className="font-mono text-xs text-slate-500">{config.id}</div>
      </td>
      <td>
        <Badge tone={config.status === 'active' ? 'active' : config.status === 'revoked' ? 'revoked' : 'invited'}>{config.status}</Badge>
      </td>
      <td className="text-xs text-slate-600">{config.lastContactAt ? new Date(config.lastContactAt).toISOString().replace('T', ' ').slice(0, 19) : 'never'}</td>
      <td className="text-xs">{config.snapshotVersion}</td>
      <td className="text-xs" data-instances>
        {config.instances.length === 0
          ? 'none'
          : config.instances.map((instance) => (
              <div key={instance.instanceId}>
                {instance.instanceId}: v{instance.snapshotVersion}, up {instance.uptimeSeconds}s
              </div>
            ))}
      </td>
      <td className="space-y-2 py-2">
        {config.status === 'provisioning' && <Provisioning orgId={orgId} keys={keys} config={config} onDone={reload} />}
        {message && <Notice tone={message.tone}>{message.text}</Notice>}
        {live && (
          <div className="flex flex-wrap justify-end gap-2">
            <Button kind="secondary" type="button" onClick={download}>
              Download .env
            </Button>
            <Button kind="secondary" type="button" onClick={rotate}>
              Rotate API key
            </Button>
            {!confirming ? (
              <Button kind="danger" type="button" onClick={() => setConfirming(true)}>
                Revoke…
              </Button>
            ) : (
              <span className="flex items-center gap-2 text-xs" role="alertdialog" aria-label="Confirm revocation">
                Revoke {config.name}? Its proxies lose every tenant config at once.
                <Button kind="danger" type="button" onClick={revoke}>
                  Revoke now
                </Button>
                <Button kind="secondary" type="button" onClick={() => setConfirming(false)}>
                  Cancel
                </Button>
              </span>
            )}
          </div>
        )}
      </td>
    </tr>
  );
}

function CreateForm({ orgId, keys, state, brokerUrl, onCreated }: { orgId: string; keys: UnlockedKeys; state: KeyState; brokerUrl: string | null; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<Record<string, string[]> | undefined>();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  async function submit(event: React.FormEvent) {
    event.preventDefault();
    if (!name.trim()) return setErrors({ name: ['Enter a name, e.g. "eu-west pod"'] });
    setBusy(true);
    setErrors(undefined);
    setFailure(null);
    try {
      const generated = await generateProxyConfig({ name: name.trim(), brokerUrl: brokerUrl ?? window.location.origin, vendorId: keys.vendorId, vendorPublicKey: state.vendorKey!.publicKey });
      await api(`/api/orgs/${orgId}/proxy-configs`, {
        body: { id: generated.id, name: name.trim(), publicKey: generated.publicKey, tokenHash: generated.tokenHash, sealedEnv: generated.sealedEnv },
      });
      downloadText(envFilename(name.trim()), generated.env);
      setName('');
      onCreated();
    } catch (error) {
      if (error instanceof ApiError && error.fieldErrors) setErrors(error.fieldErrors);
      else setFailure(errorText(error));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} className="space-y-3" noValidate data-form="create-proxy-config">
      {failure && <Notice tone="error">{failure}</Notice>}
      <TextField label="Name" name="proxy-name" value={name} onChange={(e) => setName(e.target.value)} errors={errors?.name} hint="One per pool of proxy containers, e.g. a cluster or region." />
      <p className="text-xs text-slate-600">
        Your browser generates the key pair, the broker token and the API key, and downloads the proxy&apos;s .env. The broker keeps only the public key, a hash of the token and a copy sealed to the vendor key.
      </p>
      <Button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create and download .env'}
      </Button>
    </form>
  );
}

function ProxyConfigsBody({ orgId, keys, state, brokerUrl }: { orgId: string; keys: UnlockedKeys; state: KeyState; brokerUrl: string | null }) {
  const [rows, setRows] = useState<ProxyConfigRow[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const load = useCallback(() => {
    api<{ proxyConfigs: ProxyConfigRow[] }>(`/api/orgs/${orgId}/proxy-configs`).then(
      (body) => setRows(body.proxyConfigs),
      (error) => setFailure(errorText(error)),
    );
  }, [orgId]);
  useEffect(() => {
    load();
    const timer = setInterval(load, 15_000);
    return () => clearInterval(timer);
  }, [load]);
  return (
    <div className="grid gap-6 lg:grid-cols-[1fr_320px]">
      <div className="space-y-3">
        {failure && <Notice tone="error">{failure}</Notice>}
        <table className="w-full text-left text-sm" data-table="proxy-configs">
          <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
            <tr>
              <th className="py-2">Configuration</th>
              <th>Status</th>
              <th>Last contact</th>
              <th>Version</th>
              <th>Instances</th>
              <th className="sr-only">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows?.length === 0 && (
              <tr>
                <td colSpan={6} className="py-6 text-center text-slate-500">
                  No proxy configurations yet.
                </td>
              </tr>
            )}
            {rows?.map((row) => <ConfigRow key={row.id} orgId={orgId} keys={keys} config={row} reload={load} />)}
          </tbody>
        </table>
      </div>
      <div className="rounded-lg bg-white p-5 shadow-sm ring-1 ring-slate-200">
        <h2 className="mb-3 text-base font-semibold">New proxy configuration</h2>
        <CreateForm orgId={orgId} keys={keys} state={state} brokerUrl={brokerUrl} onCreated={load} />
      </div>
    </div>
  );
}

export function ProxyConfigs({ orgId, brokerUrl }: { orgId: string; brokerUrl: string | null }) {
  return (
    <VendorKeyGate orgId={orgId} requireVendorKey>
      {(keys, state) => <ProxyConfigsBody orgId={orgId} keys={keys} state={state} brokerUrl={brokerUrl} />}
    </VendorKeyGate>
  );
}
