'use client';

/** JSON calls from islands to the broker's org-scoped route handlers (same origin, session cookie). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fieldErrors?: Record<string, string[]>,
  ) {
    super(message);
  }
}

export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    cache: 'no-store',
  });
  if (response.status === 204) return undefined as T;
  const json = (await response.json().catch(() => ({}))) as { error?: string; message?: string; fieldErrors?: Record<string, string[]> };
  if (!response.ok) throw new ApiError(response.status, json.error ?? 'error', json.message ?? `The broker answered ${response.status}`, json.fieldErrors);
  return json as T;
}

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
