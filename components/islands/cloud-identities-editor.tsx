'use client';

import { useState } from 'react';
import { useRouter } from 'next/navigation';
import { Button, Notice } from '@/components/ui';
import { api, ApiError, errorText } from './broker-api';

const placeholders = { aws: 'arn:aws:iam::111122223333:role/opencmk-proxy', gcp: 'opencmk-proxy@project.iam.gserviceaccount.com', azure: '00000000-0000-0000-0000-000000000000' };

export function CloudIdentitiesEditor({ orgId, identities }: { orgId: string; identities: { id: string; provider: string; identity: string; label: string }[] }) {
  const router = useRouter();
  const [provider, setProvider] = useState<'aws' | 'gcp' | 'azure'>('aws');
  const [identity, setIdentity] = useState('');
  const [label, setLabel] = useState('');
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [failure, setFailure] = useState<string | null>(null);
  async function add(event: React.FormEvent) {
    event.preventDefault();
    setErrors({});
    setFailure(null);
    try {
      await api(`/api/orgs/${orgId}/cloud-identities`, { body: { provider, identity, label } });
      setIdentity('');
      setLabel('');
      router.refresh();
    } catch (error) {
      if (error instanceof ApiError && error.fieldErrors) setErrors(error.fieldErrors);
      else setFailure(errorText(error));
    }
  }
  async function remove(id: string) {
    try {
      await api(`/api/orgs/${orgId}/cloud-identities/${id}`, { method: 'DELETE' });
      router.refresh();
    } catch (error) {
      setFailure(errorText(error));
    }
  }
  return (
    <div className="space-y-4">
      {failure && <Notice tone="error">{failure}</Notice>}
      <ul className="space-y-1 text-sm" data-list="cloud-identities">
        {identities.map((row) => (
          <li key={row.id} className="flex items-center justify-between gap-2">
            <span>
              <strong className="uppercase">{row.provider}</strong> <code className="font-mono text-xs">{row.identity}</code> {row.label && <span className="text-slate-500">({row.label})</span>}
            </span>
            <Button kind="danger" type="button" onClick={() => remove(row.id)}>
              Remove
            </Button>
          </li>
        ))}
      </ul>
      <form onSubmit={add} className="space-y-2" noValidate data-form="cloud-identity">
        <select name="provider" value={provider} onChange={(e) => setProvider(e.target.value as 'aws')} aria-label="Provider" className="rounded-md border border-slate-300 px-2 py-1 text-sm">
          <option value="aws">AWS role ARN</option>
          <option value="gcp">GCP service-account e-mail</option>
          <option value="azure">Azure application (client) id</option>
        </select>
        <input name="identity" value={identity} onChange={(e) => setIdentity(e.target.value)} placeholder={placeholders[provider]} aria-label="Identity" className="block w-full rounded-md border border-slate-300 px-3 py-1.5 text-sm" />
        {errors.identity && <p className="text-sm text-red-700" data-field-error="identity">{errors.identity.join(' ')}</p>}
        <input name="label" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Label (optional)" aria-label="Label" className="block w-full rounded-md border border-slate-300 px-3 py-1.5 text-sm" />
        <Button type="submit">Add identity</Button>
      </form>
    </div>
  );
}
