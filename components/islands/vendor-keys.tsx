'use client';

import { useState } from 'react';
import { base64UrlDecode, fingerprint, seal } from '@opencmk/crypto';
import { vendorGrantContext } from '@/lib/browser-sealing';
import { Badge, Button, Notice } from '@/components/ui';
import { api, errorText } from './broker-api';
import { VendorKeyGate, type KeyState } from './vendor-key-gate';
import type { UnlockedKeys } from './key-session';

function AdminList({ orgId, keys, state, reload }: { orgId: string; keys: UnlockedKeys; state: KeyState; reload: () => void }) {
  const [message, setMessage] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  async function grant(admin: KeyState['admins'][number]) {
    try {
      // The vendor private key, sealed in this browser to the other admin's public key.
      const sealedPrivateKey = seal(keys.vendorPrivateKey!, base64UrlDecode(admin.publicKey!), vendorGrantContext(state.vendorId, admin.userId));
      await api(`/api/orgs/${orgId}/keys`, { body: { action: 'grant', userId: admin.userId, sealedPrivateKey } });
      setMessage({ tone: 'ok', text: `Vendor key granted to ${admin.email}` });
      reload();
    } catch (error) {
      setMessage({ tone: 'error', text: errorText(error) });
    }
  }
  return (
    <div className="space-y-3">
      {state.vendorKey && (
        <p className="text-sm text-slate-700">
          Vendor key fingerprint: <code className="font-mono text-xs">{fingerprint(base64UrlDecode(state.vendorKey.publicKey))}</code>
        </p>
      )}
      {message && <Notice tone={message.tone}>{message.text}</Notice>}
      <table className="w-full text-left text-sm" data-table="admin-keys">
        <thead className="border-b border-slate-200 text-xs uppercase text-slate-500">
          <tr>
            <th className="py-2">Admin</th>
            <th>Key pair</th>
            <th>Vendor key</th>
            <th className="sr-only">Actions</th>
          </tr>
        </thead>
        <tbody>
          {state.admins.map((admin) => (
            <tr key={admin.userId} className="border-b border-slate-100" data-admin={admin.email ?? admin.userId}>
              <td className="py-2">{admin.email}</td>
              <td>{admin.publicKey ? <code className="font-mono text-xs">{fingerprint(base64UrlDecode(admin.publicKey)).slice(0, 19)}</code> : <span className="text-slate-500">not set up</span>}</td>
              <td>{admin.hasGrant ? <Badge tone="active">held</Badge> : <Badge tone="revoked">not granted</Badge>}</td>
              <td className="text-right">
                {admin.publicKey && !admin.hasGrant && keys.vendorPrivateKey && (
                  <Button kind="secondary" type="button" onClick={() => grant(admin)}>
                    Grant vendor key
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {state.admins.length < 3 && <Notice tone="warn">Fewer than three admins hold keys: if the last passphrase is lost, nobody can recover the vendor key.</Notice>}
    </div>
  );
}

export function VendorKeys({ orgId }: { orgId: string }) {
  return (
    <VendorKeyGate orgId={orgId} requireVendorKey={false}>
      {(keys, state, reload) => <AdminList orgId={orgId} keys={keys} state={state} reload={reload} />}
    </VendorKeyGate>
  );
}
