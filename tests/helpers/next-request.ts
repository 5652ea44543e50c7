/**
 * Server actions read the request through next/headers, which only works inside Next's request scope. Tests run
 * the real actions and set the incoming request headers here (the jest.mock of next/headers in each action test
 * file returns them); everything else — database, session lookup, authorization — is the real code.
 */
export const incomingRequest = { headers: new Headers() };

export function setIncomingRequest(cookie: string | null, extra: Record<string, string> = {}): void {
  const headers = new Headers({ 'user-agent': 'jest', 'x-forwarded-for': '198.51.100.9', ...extra });
  if (cookie) headers.set('cookie', cookie);
  incomingRequest.headers = headers;
}

export type ActionOutcome =
  | { kind: 'returned'; value: unknown }
  | { kind: 'not-found' }
  | { kind: 'redirect'; location: string };

/** Runs an action and classifies Next's control-flow throws (notFound() -> 404 page, redirect()). */
export async function outcomeOf(run: () => Promise<unknown>): Promise<ActionOutcome> {
  try {
    return { kind: 'returned', value: await run() };
  } catch (error) {
    const digest = (error as { digest?: unknown })?.digest;
    if (typeof digest === 'string' && digest === 'NEXT_HTTP_ERROR_FALLBACK;404') return { kind: 'not-found' };
    if (typeof digest === 'string' && digest.startsWith('NEXT_REDIRECT;')) return { kind: 'redirect', location: digest.split(';')[2]! };
    throw error;
  }
}

export function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) data.set(key, value);
  return data;
}
