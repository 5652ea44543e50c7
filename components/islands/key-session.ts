'use client';

import { useSyncExternalStore } from 'react';

/**
 * The unlocked keys of this browser tab: in memory only (never storage), dropped after IDLE_MS without user
 * activity, when the tab is hidden for that long, and on sign-out (a full page load empties this module).
 */
export interface UnlockedKeys {
  vendorId: string;
  userId: string;
  adminPrivateKey: Uint8Array;
  /** Present once the admin holds a grant of the vendor key. */
  vendorPrivateKey: Uint8Array | null;
}

export const IDLE_MS = 15 * 60_000;

let current: UnlockedKeys | null = null;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

function emit() {
  for (const listener of listeners) listener();
}

function armIdleTimer() {
  clearTimeout(idleTimer);
  if (current) idleTimer = setTimeout(lockKeys, IDLE_MS);
}

let activityHooked = false;
function hookActivity() {
  if (activityHooked || typeof window === 'undefined') return;
  activityHooked = true;
  for (const event of ['pointerdown', 'keydown']) window.addEventListener(event, armIdleTimer, { passive: true });
}

export function setUnlockedKeys(keys: UnlockedKeys) {
  current = keys;
  hookActivity();
  armIdleTimer();
  emit();
}

export function lockKeys() {
  if (current) {
    current.adminPrivateKey.fill(0);
    current.vendorPrivateKey?.fill(0);
  }
  current = null;
  clearTimeout(idleTimer);
  emit();
}

export function useUnlockedKeys(vendorId: string): UnlockedKeys | null {
  const keys = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
    () => null,
  );
  return keys && keys.vendorId === vendorId ? keys : null;
}
