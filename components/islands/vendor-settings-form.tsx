'use client';

import { useState } from 'react';
import { Button, Notice } from '@/components/ui';
import { api, errorText } from './broker-api';

export function VendorSettingsForm({ orgId, initial }: { orgId: string; initial: { requireLeasing: boolean; requireLogging: boolean } }) {
  const [settings, setSettings] = useState(initial);
  const [message, setMessage] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  async function save(event: React.FormEvent) {
    event.preventDefault();
    try {
      await api(`/api/orgs/${orgId}/settings`, { method: 'PUT', body: settings });
      setMessage({ tone: 'ok', text: 'Settings saved; proxies receive them with their next snapshot.' });
    } catch (error) {
      setMessage({ tone: 'error', text: errorText(error) });
    }
  }
  return (
    <form onSubmit={save} className="space-y-3 text-sm" data-form="vendor-settings">
      {message && <Notice tone={message.tone}>{message.text}</Notice>}
      <label className="flex items-center gap-2">
        <input type="checkbox" name="requireLeasing" checked={settings.requireLeasing} onChange={(e) => setSettings({ ...settings, requireLeasing: e.target.checked })} />
        Require key leasing (proxies lease a key from each tenant&apos;s KMS instead of calling it per document)
      </label>
      <label className="flex items-center gap-2">
        <input type="checkbox" name="requireLogging" checked={settings.requireLogging} onChange={(e) => setSettings({ ...settings, requireLogging: e.target.checked })} />
        Require a logging config (tenants must send security events to their own logging system)
      </label>
      <Button type="submit">Save settings</Button>
    </form>
  );
}
