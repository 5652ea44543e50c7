import { handlers } from '@/lib/auth';

// Auth.js endpoints (sign-in, callbacks, sign-out). With BROKER_URL set, lib/auth.ts points AUTH_URL at it, so
// links and redirects use the public origin rather than the request's Host header.
export const { GET, POST } = handlers;
