'use client';

import { useCallback, useEffect, useState } from 'react';
import type { z } from 'zod';
import { configFingerprint, sealConfigToRecipients, tenantConfigContext } from '@/lib/browser-sealing';
import { kmsConfigPayloadSchema, kmsKeyPath, loggingConfigPayloadSchema, loggingDestination, serviceAccountKeyTextSchema } from '@/lib/config-schemas';
import { Badge, Button, Notice } from '@/components/ui';
import { api, ApiError, errorText } from './broker-api';
import { checkAdvice } from './check-advice';

type Kind = 'kms' | 'logging';

interface FieldSpec {
  name: string;
  label: string;
  secret?: boolean;
  optional?: boolean;
  textarea?: boolean;
  hint?: string;
}

/** The form of each provider: the fields of its sealed payload (docs/contracts.md §4). */
const providerFields: Record<string, { title: string; fields: FieldSpec[] }> = {
  aws: {
    title: 'AWS KMS',
    fields: [
      { name: 'keyArn', label: 'Key ARN', hint: 'arn:aws:kms:<region>:<account>:key/<key id>' },
      { name: 'region', label: 'Region', hint: 'e.g. us-east-1' },
      { name: 'roleArn', label: 'Role ARN to assume', optional: true, hint: 'Optional: leave empty to use the vendor’s cloud identity directly.' },
      { name: 'externalId', label: 'External id', optional: true, secret: true },
      { name: 'accessKeyId', label: 'Access key id', optional: true, hint: 'Optional, instead of a role: AKIA…' },
      { name: 'secretAccessKey', label: 'Secret access key', optional: true, secret: true },
      { name: 'endpoint', label: 'Endpoint override', optional: true, hint: 'Optional: a VPC or private endpoint URL.' },
    ],
  },
  gcp: {
    title: 'Google Cloud KMS',
    fields: [
      { name: 'project', label: 'Project id' },
      { name: 'location', label: 'Location', hint: 'e.g. global or europe-west1' },
      { name: 'keyRing', label: 'Key ring' },
      { name: 'key', label: 'Key' },
      { name: 'serviceAccountKey', label: 'Service-account key JSON', optional: true, secret: true, textarea: true, hint: 'Optional: leave empty to use the vendor’s cloud identity.' },
      { name: 'endpoint', label: 'Endpoint override', optional: true },
    ],
  },
  azure: {
    title: 'Azure Key Vault',
    fields: [
      { name: 'vaultUrl', label: 'Vault URL', hint: 'https://<vault>.vault.azure.net' },
      { name: 'keyName', label: 'Key name' },
      { name: 'tenantId', label: 'Entra tenant id' },
      { name: 'clientId', label: 'Client id', optional: true, hint: 'Optional: leave client id and secret empty to use the vendor’s cloud identity.' },
      { name: 'clientSecret', label: 'Client secret', optional: true, secret: true },
      { name: 'authorityHost', label: 'Authority host override', optional: true },
    ],
  },
  splunk: {
    title: 'Splunk HEC',
    fields: [
      { name: 'url', label: 'HEC URL', hint: 'https://splunk.example.com:8088' },
      { name: 'token', label: 'HEC token', secret: true },
      { name: 'index', label: 'Index', optional: true },
      { name: 'sourcetype', label: 'Source type', optional: true },
    ],
  },
  'gcp-logging': {
    title: 'Google Cloud Logging',
    fields: [
      { name: 'project', label: 'Project id' },
      { name: 'logName', label: 'Log name' },
      { name: 'serviceAccountKey', label: 'Service-account key JSON', secret: true, textarea: true },
      { name: 'endpoint', label: 'Endpoint override', optional: true },
    ],
  },
  webhook: {
    title: 'HTTPS webhook',
    fields: [
      { name: 'url', label: 'URL', hint: 'Events are POSTed here with X-OpenCMK-Signature: sha256=<HMAC>' },
      { name: 'hmacSecret', label: 'HMAC secret', secret: true, hint: 'At least 16 characters.' },
    ],
  },
};

const providersOf: Record<Kind, string[]> = { kms: ['aws', 'gcp', 'azure'], logging: ['splunk', 'gcp-logging', 'webhook'] };

interface ConfigRow {
  id: number;
  provider: string;
  label: string;
  status: string;
  leasingAllowed?: boolean;
  version: number;
  fingerprint: string;
  createdAt: string;
  lastCheck: Check | null;
}
interface Check {
  id: string;
  status: 'queued' | 'succeeded' | 'failed';
  ok: boolean | null;
  latencyMs: number | null;
  errorCode: number | null;
  errorMessage: string | null;
  createdAt: string;
}
interface RecipientSet {
  vendorId: string;
  tenantId: string;
  recipients: { keyId: string; publicKey: string; kind: string; name: string }[];
}

function issuesToFields(error: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) (out[String(issue.path[0] ?? '_form')] ??= []).push(issue.message);
  return out;
}

/** Form values -> the validated payload, or field errors; nothing is sent anywhere before this passes. */
function validatePayload(kind: Kind, provider: string, values: Record<string, string>) {
  const raw: Record<string, unknown> = { provider };
  const errors: Record<string, string[]> = {};
  for (const field of providerFields[provider]!.fields) {
    const value = values[field.name] ?? '';
    if (field.name === 'serviceAccountKey') {
      if (!value.trim()) continue;
      const parsed = serviceAccountKeyTextSchema.safeParse(value);
      if (parsed.success) raw.serviceAccountKey = parsed.data;
      else errors.serviceAccountKey = parsed.error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
      continue;
    }
    raw[field.name] = value;
  }
  const schema = kind === 'kms' ? kmsConfigPayloadSchema : loggingConfigPayloadSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) Object.assign(errors, issuesToFields(parsed.error), errors);
  if (Object.keys(errors).length || !parsed.success) return { errors };
  return { payload: parsed.data };
}

async function keyPathFingerprint(kind: Kind, payload: unknown): Promise<string> {
  return configFingerprint(kind === 'kms' ? kmsKeyPath(payload as never) : loggingDestination(payload as never));
}

const MAX_RESEALS = 3;

/**
 * Seals the payload to the current recipients and submits; on 409 (a proxy configuration was added or revoked
 * meanwhile) fetches the recipients again and seals again.
 */
async function sealAndSubmit(orgId: string, kind: Kind, id: number, version: number, payload: unknown, submit: (copies: { recipientKeyId: string; blob: string }[]) => Promise<unknown>) {
  for (let attempt = 1; ; attempt++) {
    const set = await api<RecipientSet>(`/api/orgs/${orgId}/tenant-configs/recipients`);
    const copies = sealConfigToRecipients(payload, set.recipients, tenantConfigContext(kind, set.vendorId, set.tenantId, id, version));
    try {
      return await submit(copies);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409 && error.message.startsWith('The recipients changed')) || attempt >= MAX_RESEALS) throw error;
    }
  }
}

function ConfigForm({ orgId, kind, replace, onDone, onCancel }: { orgId: string; kind: Kind; replace?: ConfigRow; onDone: (message: string) => void; onCancel?: () => void }) {
  const [provider, setProvider] = useState(replace?.provider ?? providersOf[kind][0]!);
  const [values, setValues] = useState<Record<string, string>>({});
  const [label, setLabel] = useState('');
  const [leasingAllowed, setLeasingAllowed] = useState(true);
  const [primary, setPrimary] = useState(false);
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setFailure(null);
    const checked = validatePayload(kind, provider, values);
    const found = { ...checked.errors };
    if (!replace && !label.trim()) found.label = ['Enter a label, e.g. "Production key"'];
    setErrors(found);
    if (Object.keys(found).length || !checked.payload) return;
    setBusy(true);
    try {
      const fingerprint = await keyPathFingerprint(kind, checked.payload);
      if (replace) {
        const version = replace.version + 1;
        await sealAndSubmit(orgId, kind, replace.id, version, checked.payload, (copies) =>
          api(`/api/orgs/${orgId}/tenant-configs/${kind}/${replace.id}`, { method: 'PUT', body: { version, fingerprint, copies } }),
        );
        onDone(`New credentials sealed for "${replace.label}" (version ${version}).`);
      } else {
        const { id } = await api<{ id: number }>(`/api/orgs/${orgId}/tenant-configs/${kind}/reservations`, { method: 'POST' });
        const metadata = kind === 'kms' ? { leasingAllowed, primary } : {};
        await sealAndSubmit(orgId, kind, id, 1, checked.payload, (copies) =>
          api(`/api/orgs/${orgId}/tenant-configs/${kind}`, { body: { id, provider, label: label.trim(), fingerprint, copies, ...metadata } }),
        );
        setValues({});
        setLabel('');
        onDone(`"${label.trim()}" sealed to your vendor's proxies and saved.`);
      }
    } catch (error) {
      if (error instanceof ApiError && error.fieldErrors) setErrors(error.fieldErrors);
      setFailure(errorText(error));
    } finally {
      setBusy(false);
    }
  }
  const inputClass = (name: string) =>
    `block w-full rounded-md border px-3 py-1.5 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-indigo-500 ${errors[name] ? 'border-red-400' : 'border-slate-300'}`;
  return (
    <form onSubmit={submit} className="space-y-3" noValidate data-form={`${kind}-config`}>
      {failure && <Notice tone="error">{failure}</Notice>}
      {replace ? (
        <p className="text-sm text-slate-700">
          Enter the whole config again with the new credentials. The key path must stay the same (create a new config to use another key).
        </p>
      ) : (
        <>
          <div className="space-y-1">
            <label htmlFor={`${kind}-provider`} className="block text-sm font-medium text-slate-700">
              Provider
            </label>
            <select id={`${kind}-provider`} name="provider" value={provider} onChange={(e) => (setProvider(e.target.value), setErrors({}))} className={inputClass('provider')}>
              {providersOf[kind].map((name) => (
                <option key={name} value={name}>
                  {providerFields[name]!.title}
                </option>
              ))}
            </select>
          </div>
          <div className="space-y-1">
            <label htmlFor={`${kind}-label`} className="block text-sm font-medium text-slate-700">
              Label
            </label>
            <input id={`${kind}-label`} name="label" value={label} onChange={(e) => setLabel(e.target.value)} className={inputClass('label')} aria-invalid={errors.label ? true : undefined} />
            {errors.label && <p className="text-sm text-red-700" data-field-error="label">{errors.label.join(' ')}</p>}
          </div>
        </>
      )}
      {providerFields[provider]!.fields.map((field) => (
        <div key={`${provider}-${field.name}`} className="space-y-1">
          <label htmlFor={`${kind}-${field.name}`} className="block text-sm font-medium text-slate-700">
            {field.label}
            {field.optional && <span className="font-normal text-slate-500"> (optional)</span>}
          </label>
          {field.textarea ? (
            <textarea
              id={`${kind}-${field.name}`}
              name={field.name}
              rows={4}
              value={values[field.name] ?? ''}
              onChange={(e) => setValues({ ...values, [field.name]: e.target.value })}
              className={`${inputClass(field.name)} font-mono text-xs`}
              aria-invalid={errors[field.name] ? true : undefined}
              autoComplete="off"
              spellCheck={false}
            />
          ) : (
            <input
              id={`${kind}-${field.name}`}
              name={field.name}
              type={field.secret ? 'password' : 'text'}
              value={values[field.name] ?? ''}
              onChange={(e) => setValues({ ...values, [field.name]: e.target.value })}
              className={inputClass(field.name)}
              aria-invalid={errors[field.name] ? true : undefined}
              autoComplete="off"
              spellCheck={false}
            />
          )}
          {errors[field.name] ? (
            <p className="text-sm text-red-700" data-field-error={field.name}>
              {errors[field.name]!.join(' ')}
            </p>
          ) : (
            field.hint && <p className="text-xs text-slate-500">{field.hint}</p>
          )}
        </div>
      ))}
      {kind === 'kms' && !replace && (
        <div className="space-y-1 text-sm">
          <label className="flex items-center gap-2">
            <input type="checkbox" name="leasingAllowed" checked={leasingAllowed} onChange={(e) => setLeasingAllowed(e.target.checked)} /> Allow key leasing (fewer KMS calls)
          </label>
          {errors.leasingAllowed && (
            <p className="text-sm text-red-700" data-field-error="leasingAllowed">
              {errors.leasingAllowed.join(' ')}
            </p>
          )}
          <label className="flex items-center gap-2">
            <input type="checkbox" name="primary" checked={primary} onChange={(e) => setPrimary(e.target.checked)} /> Make primary (wraps new keys; the first config always is)
          </label>
        </div>
      )}
      <div className="flex gap-2">
        <Button type="submit" disabled={busy}>
          {busy ? 'Sealing…' : replace ? 'Seal new credentials' : 'Seal and save'}
        </Button>
        {onCancel && (
          <Button kind="secondary" type="button" onClick={onCancel}>
            Cancel
          </Button>
        )}
      </div>
    </form>
  );
}

function CheckResult({ check }: { check: Check | null }) {
  if (!check) return null;
  if (check.status === 'queued') return <p className="text-xs text-slate-600" data-check="queued">Test queued: waiting for a proxy…</p>;
  if (check.ok) {
    return (
      <p className="text-xs text-emerald-800" data-check="succeeded">
        Test passed: round trip in {check.latencyMs} ms
      </p>
    );
  }
  return (
    <div className="text-xs text-red-800" data-check="failed">
      <p>
        Test failed{check.errorCode ? ` (code ${check.errorCode})` : ''}: {check.errorMessage}
      </p>
      <p className="text-slate-700">{checkAdvice(check.errorCode)}</p>
    </div>
  );
}

function Row({ orgId, kind, row, reload, onReplace }: { orgId: string; kind: Kind; row: ConfigRow; reload: () => void; onReplace: () => void }) {
  const [confirmDisable, setConfirmDisable] = useState(false);
  const [localCheck, setCheck] = useState<Check | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const base = `/api/orgs/${orgId}/tenant-configs/${kind}/${row.id}`;
  // The newer of the list's last check and the one this row queued or polled.
  const check = localCheck && (!row.lastCheck || localCheck.createdAt >= row.lastCheck.createdAt) ? localCheck : row.lastCheck;
  useEffect(() => {
    if (check?.status !== 'queued') return;
    const timer = setInterval(async () => {
      const { checks } = await api<{ checks: Check[] }>(`${base}/checks`).catch(() => ({ checks: [] as Check[] }));
      const latest = checks.find((candidate) => candidate.id === check.id);
      if (latest && latest.status !== 'queued') setCheck(latest);
    }, 1000);
    return () => clearInterval(timer);
  }, [check, base]);
  async function setStatus(status: string) {
    setFailure(null);
    try {
      await api(base, { method: 'PATCH', body: { status } });
      setConfirmDisable(false);
      reload();
    } catch (error) {
      setFailure(errorText(error));
    }
  }
  async function test() {
    setFailure(null);
    try {
      setCheck((await api<{ check: Check }>(`${base}/checks`, { method: 'POST' })).check);
    } catch (error) {
      setFailure(errorText(error));
    }
  }
  const statuses = kind === 'kms' ? ['primary', 'active'] : ['active'];
  return (
    <tr className="border-b border-slate-100 align-top" data-config={row.label} data-status={row.status}>
      <td className="py-2">
        <div className="font-medium">{row.label}</div>
        <div className="text-xs text-slate-500">
          #{row.id} · {providerFields[row.provider]?.title ?? row.provider} · v{row.version}
          {kind === 'kms' && (row.leasingAllowed ? ' · leasing' : ' · no leasing')}
        </div>
        <div className="font-mono text-[10px] text-slate-400">{row.fingerprint}</div>
      </td>
      <td>
        <Badge tone={row.status === 'disabled' ? 'revoked' : row.status === 'primary' ? 'vendor' : 'active'}>{row.status}</Badge>
      </td>
      <td className="space-y-2 py-2">
        <div className="flex flex-wrap justify-end gap-2">
          {statuses
            .filter((status) => status !== row.status)
            .map((status) => (
              <Button key={status} kind="secondary" type="button" onClick={() => setStatus(status)}>
                {status === 'primary' ? 'Make primary' : row.status === 'disabled' ? 'Enable' : 'Set active'}
              </Button>
            ))}
          {row.status !== 'disabled' && (
            <Button kind="secondary" type="button" onClick={test}>
              Test
            </Button>
          )}
          <Button kind="secondary" type="button" onClick={onReplace}>
            Replace credentials
          </Button>
          {row.status !== 'disabled' &&
            (!confirmDisable ? (
              <Button kind="danger" type="button" onClick={() => setConfirmDisable(true)}>
                Disable…
              </Button>
            ) : (
              <span className="flex items-center gap-2 text-xs" role="alertdialog" aria-label="Confirm disable">
                {kind === 'kms'
                  ? 'Disable? Within seconds the proxies stop using this key: data protected by it cannot be decrypted until you enable it again.'
                  : 'Disable? Security events go to the proxies’ standard output until another logging config is active.'}
                <Button kind="danger" type="button" onClick={() => setStatus('disabled')}>
                  Disable now
                </Button>
                <Button kind="secondary" type="button" onClick={() => setConfirmDisable(false)}>
                  Cancel
                </Button>
              </span>
            ))}
        </div>
        {failure && <Notice tone="error">{failure}</Notice>}
        <CheckResult check={check} />
      </td>
    </tr>
  );
}

export function TenantConfigs({ orgId, kind }: { orgId: string; kind: Kind }) {
  const [rows, setRows] = useState<ConfigRow[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [replacing, setReplacing] = useState<ConfigRow | null>(null);
  const load = useCallback(() => {
    api<{ configs: ConfigRow[] }>(`/api/orgs/${orgId}/tenant-configs/${kind}`).then(
      (body) => setRows(body.configs),
      (error) => setFailure(errorText(error)),
    );
  }, [orgId, kind]);
  useEffect(load, [load]);
  const done = (message: string) => {
    setNotice(message);
    setReplacing(null);
    load();
  };
  return (
    <div className="grid gap-6 lg:grid-cols-[1fr_360px]">
      <div className="space-y-3">
        {failure && <Notice tone="error">{failure}</Notice>}
        {notice && <Notice tone="ok">{notice}</Notice>}
        <table className="w-full text-left text-sm" data-table={`${kind}-configs`}>
          <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
            <tr>
              <th className="py-2">Config</th>
              <th>Status</th>
              <th className="sr-only">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows?.length === 0 && (
              <tr>
                <td colSpan={3} className="py-6 text-center text-slate-500">
                  No {kind === 'kms' ? 'KMS' : 'logging'} configs yet.
                </td>
              </tr>
            )}
            {rows?.map((row) => <Row key={row.id} orgId={orgId} kind={kind} row={row} reload={load} onReplace={() => setReplacing(row)} />)}
          </tbody>
        </table>
      </div>
      <div className="rounded-lg bg-white p-5 shadow-sm ring-1 ring-slate-200">
        <h2 className="mb-3 text-base font-semibold">{replacing ? `Replace credentials of "${replacing.label}"` : kind === 'kms' ? 'New KMS config' : 'New logging config'}</h2>
        <p className="mb-3 text-xs text-slate-600">
          Everything you enter is checked and sealed in this browser to your vendor&apos;s proxies and vendor key; the broker stores only the label, provider and status.
        </p>
        {replacing ? (
          <ConfigForm key={`replace-${replacing.id}`} orgId={orgId} kind={kind} replace={replacing} onDone={done} onCancel={() => setReplacing(null)} />
        ) : (
          <ConfigForm key="create" orgId={orgId} kind={kind} onDone={done} />
        )}
      </div>
    </div>
  );
}
