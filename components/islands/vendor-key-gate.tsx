'use client';

import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { base64UrlDecode, base64UrlEncode, generateKeyPair, open, protectPrivateKey, seal, unprotectPrivateKey, isCryptoError } from '@opencmk/crypto';
import { vendorGrantContext } from '@/lib/browser-sealing';
import { Button, Notice, TextField } from '@/components/ui';
import { api, errorText } from './broker-api';
import { lockKeys, setUnlockedKeys, useUnlockedKeys, type UnlockedKeys } from './key-session';
import { MIN_PASSPHRASE_LENGTH, passphraseStrength } from './passphrase-strength';

export interface KeyState {
  vendorId: string;
  userId: string;
  myKey: { publicKey: string; keyId: string; protectedPrivateKey: string } | null;
  vendorKey: { publicKey: string; keyId: string } | null;
  myGrant: string | null;
  admins: { userId: string; email: string | null; publicKey: string | null; keyId: string | null; hasGrant: boolean }[];
}

const LOST_PASSPHRASE_WARNING =
  'The broker never sees this passphrase and cannot reset it. If you lose it, only another admin who holds the vendor key can give you access again (by granting it to a new key pair of yours).';

/** Creates the vendor key in this browser and seals its private half to the admin's own key. */
async function createVendorKey(orgId: string, state: KeyState, adminPublicKey: Uint8Array): Promise<Uint8Array> {
  const vendor = generateKeyPair();
  const sealedGrant = seal(vendor.privateKey, adminPublicKey, vendorGrantContext(state.vendorId, state.userId));
  await api(`/api/orgs/${orgId}/keys`, { body: { action: 'vendor-key', publicKey: base64UrlEncode(vendor.publicKey), sealedGrant } });
  return vendor.privateKey;
}

function PassphraseSetup({ orgId, state, replacing, onDone }: { orgId: string; state: KeyState; replacing: boolean; onDone: () => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [progress, setProgress] = useState<number | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const strength = passphraseStrength(passphrase);
  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const found: Record<string, string[]> = {};
    if (!strength.acceptable) found.passphrase = [`Use at least ${MIN_PASSPHRASE_LENGTH} characters and make it stronger (a few unrelated words work well)`];
    if (confirm !== passphrase) found.confirm = ['The two entries differ'];
    setErrors(found);
    if (Object.keys(found).length) return;
    setFailure(null);
    setProgress(0);
    try {
      const pair = generateKeyPair();
      const protectedPrivateKey = await protectPrivateKey(pair.privateKey, passphrase, undefined, { onProgress: setProgress });
      await api(`/api/orgs/${orgId}/keys`, { body: { action: 'admin-key', publicKey: base64UrlEncode(pair.publicKey), protectedPrivateKey } });
      const vendorPrivateKey = state.vendorKey ? null : await createVendorKey(orgId, state, pair.publicKey);
      setUnlockedKeys({ vendorId: state.vendorId, userId: state.userId, adminPrivateKey: pair.privateKey, vendorPrivateKey });
      onDone();
    } catch (error) {
      setFailure(errorText(error));
    } finally {
      setProgress(null);
    }
  }
  return (
    <form onSubmit={submit} className="space-y-4" noValidate data-form="passphrase-setup">
      <p className="text-sm text-slate-700">
        {replacing
          ? 'Create a new key pair protected by a new encryption passphrase. Your current vendor-key grant stops working; another admin has to grant the vendor key to you again.'
          : 'Key work (proxy configurations, provisioning) happens in your browser with your own key pair. Choose an encryption passphrase to protect it. It is separate from how you sign in.'}
      </p>
      <Notice tone="warn">{LOST_PASSPHRASE_WARNING}</Notice>
      {failure && <Notice tone="error">{failure}</Notice>}
      <TextField label="Encryption passphrase" name="passphrase" type="password" autoComplete="new-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} errors={errors.passphrase} />
      <div className="space-y-1" data-strength={strength.label}>
        <div className="h-2 w-full rounded bg-slate-100" aria-hidden>
          <div
            className={`h-2 rounded ${strength.acceptable ? 'bg-emerald-500' : 'bg-amber-500'}`}
            style={{ width: `${Math.min(100, (strength.bits / 110) * 100)}%` }}
          />
        </div>
        <p className="text-xs text-slate-600">
          Strength: <strong>{passphrase ? strength.label : '—'}</strong> (about {strength.bits} bits)
        </p>
      </div>
      <TextField label="Confirm passphrase" name="confirm" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} errors={errors.confirm} />
      {progress !== null && <progress className="w-full" value={progress} max={1} aria-label="Protecting your key" />}
      <Button type="submit" disabled={progress !== null}>
        {progress !== null ? 'Protecting your key…' : replacing ? 'Create new key pair' : 'Set passphrase and create keys'}
      </Button>
    </form>
  );
}

function Unlock({ orgId, state, onDone }: { orgId: string; state: KeyState; onDone: () => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      const adminPrivateKey = await unprotectPrivateKey(state.myKey!.protectedPrivateKey, passphrase);
      let vendorPrivateKey: Uint8Array | null = null;
      if (state.myGrant) vendorPrivateKey = open(state.myGrant, adminPrivateKey, vendorGrantContext(state.vendorId, state.userId));
      else if (!state.vendorKey) vendorPrivateKey = await createVendorKey(orgId, state, base64UrlDecode(state.myKey!.publicKey));
      setUnlockedKeys({ vendorId: state.vendorId, userId: state.userId, adminPrivateKey, vendorPrivateKey });
      onDone();
    } catch (error) {
      setFailure(isCryptoError(error, 'WRONG_PASSPHRASE') ? 'Wrong passphrase' : errorText(error));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} className="space-y-3" noValidate data-form="unlock">
      <p className="text-sm text-slate-700">Unlock your keys for this browser tab. They stay in memory only and lock after 15 minutes without activity.</p>
      {failure && <Notice tone="error">{failure}</Notice>}
      <TextField label="Encryption passphrase" name="unlock-passphrase" type="password" autoComplete="current-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
      <Button type="submit" disabled={busy || !passphrase}>
        {busy ? 'Unlocking…' : 'Unlock keys'}
      </Button>
    </form>
  );
}

/**
 * Renders its children only with the caller's keys unlocked in this tab: first-time set-up (passphrase, key pair,
 * and for the first admin the vendor key) or unlock. With `requireVendorKey`, also needs a grant of the vendor key.
 */
export function VendorKeyGate({
  orgId,
  requireVendorKey,
  children,
}: {
  orgId: string;
  requireVendorKey: boolean;
  children: (keys: UnlockedKeys, state: KeyState, reload: () => void) => ReactNode;
}) {
  const [state, setState] = useState<KeyState | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [replacing, setReplacing] = useState(false);
  const load = useCallback(() => {
    api<KeyState>(`/api/orgs/${orgId}/keys`).then(setState, (error) => setFailure(errorText(error)));
  }, [orgId]);
  useEffect(load, [load]);
  const keys = useUnlockedKeys(state?.vendorId ?? orgId);
  if (failure) return <Notice tone="error">{failure}</Notice>;
  if (!state) return <p className="text-sm text-slate-500">Loading keys…</p>;
  if (!state.myKey || replacing) return <PassphraseSetup orgId={orgId} state={state} replacing={replacing} onDone={() => (setReplacing(false), load())} />;
  if (!keys) {
    return (
      <div className="space-y-3">
        <Unlock orgId={orgId} state={state} onDone={load} />
        <details className="text-sm text-slate-600">
          <summary className="cursor-pointer">Lost your passphrase?</summary>
          <p className="my-2">{LOST_PASSPHRASE_WARNING}</p>
          <Button kind="secondary" type="button" onClick={() => setReplacing(true)}>
            Create a new key pair
          </Button>
        </details>
      </div>
    );
  }
  if (requireVendorKey && !keys.vendorPrivateKey) {
    return (
      <Notice tone="warn">
        You do not hold the vendor key yet. Ask an admin who holds it to grant it to you on the Keys page (your key pair is set up).
      </Notice>
    );
  }
  return (
    <div className="space-y-4">
      <div className="flex items-center justify-between rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900 ring-1 ring-emerald-200" data-keys-unlocked>
        <span>Keys unlocked in this tab{keys.vendorPrivateKey ? ' (vendor key held)' : ''}.</span>
        <Button kind="secondary" type="button" onClick={lockKeys}>
          Lock
        </Button>
      </div>
      {children(keys, state, load)}
    </div>
  );
}
