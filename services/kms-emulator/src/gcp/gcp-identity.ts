/**
 * Google service accounts as the emulators see them: the public half of each SA key verifies self-signed JWTs
 * (what GAPIC clients send, with no token endpoint call), and the emulated OAuth token endpoint (RFC 7523
 * jwt-bearer) issues opaque access tokens for callers that use google-auth-library directly.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, createPrivateKey, type KeyObject } from 'node:crypto';
import { EmulatorError } from '../core/errors.js';
import { decodeJwt, verifyRs256 } from '../core/jwt.js';
import { randomId } from '../core/util.js';

export interface ServiceAccountKeyJson {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

interface ServiceAccount {
  email: string;
  projectId: string;
  keyId: string;
  publicKey: KeyObject;
  keyJson: ServiceAccountKeyJson;
  disabled: boolean;
  /** Tokens seen or issued so far; expireCredentials() moves them to `revoked`. */
  seenTokens: Set<string>;
  revoked: Set<string>;
}

export type GcpAuthResult = { email: string } | { error: 'UNAUTHENTICATED' | 'PERMISSION_DENIED'; message: string };

const MAX_JWT_LIFETIME_SECONDS = 3600;
const CLOCK_TOLERANCE_SECONDS = 300;

export class GcpIdentity {
  private readonly accounts = new Map<string, ServiceAccount>();
  private readonly accessTokens = new Map<string, { email: string; expiresAt: number; scopes: string[] }>();
  tokenLifetimeSeconds = 3600;
  tokenUri = 'https://oauth2.googleapis.com/token';

  addServiceAccount(input: {
    projectId: string;
    accountId: string;
    privateKeyPem?: string;
    privateKeyId?: string;
    clientId?: string;
  }): ServiceAccountKeyJson {
    const email = `${input.accountId}@${input.projectId}.iam.gserviceaccount.com`;
    if (this.accounts.has(email)) throw new EmulatorError('ALREADY_EXISTS', `service account ${email} exists`);
    let privateKeyPem = input.privateKeyPem;
    if (privateKeyPem === undefined) {
      privateKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
    }
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(createPrivateKey(privateKeyPem));
    } catch {
      throw new EmulatorError('INVALID_ARGUMENT', 'privateKeyPem: expected a PEM RSA private key');
    }
    if (publicKey.asymmetricKeyType !== 'rsa')
      throw new EmulatorError('INVALID_ARGUMENT', 'privateKeyPem: expected an RSA key');
    const keyId = input.privateKeyId ?? randomBytes(20).toString('hex');
    const keyJson: ServiceAccountKeyJson = {
      type: 'service_account',
      project_id: input.projectId,
      private_key_id: keyId,
      private_key: privateKeyPem,
      client_email: email,
      client_id: input.clientId ?? String(BigInt('0x' + randomBytes(8).toString('hex'))),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: this.tokenUri,
    };
    this.accounts.set(email, {
      email,
      projectId: input.projectId,
      keyId,
      publicKey,
      keyJson,
      disabled: false,
      seenTokens: new Set(),
      revoked: new Set(),
    });
    return keyJson;
  }

  has(email: string): boolean {
    return this.accounts.has(email);
  }

  keyJson(email: string): ServiceAccountKeyJson {
    const account = this.accounts.get(email);
    if (!account) throw new EmulatorError('NOT_FOUND', `no service account ${email}`);
    return account.keyJson;
  }

  list(): { email: string; projectId: string; disabled: boolean }[] {
    return [...this.accounts.values()].map(({ email, projectId, disabled }) => ({ email, projectId, disabled }));
  }

  /** Every token this service account has used so far stops working (the SDK keeps its cached JWT, so it must re-sign). */
  expireCredentials(email: string): void {
    const account = this.accounts.get(email);
    if (!account) throw new EmulatorError('NOT_FOUND', `no service account ${email}`);
    for (const token of account.seenTokens) account.revoked.add(token);
    for (const [token, issued] of this.accessTokens) if (issued.email === email) this.accessTokens.delete(token);
  }

  setDisabled(email: string, disabled: boolean): void {
    const account = this.accounts.get(email);
    if (!account) throw new EmulatorError('NOT_FOUND', `no service account ${email}`);
    account.disabled = disabled;
  }

  /**
   * Authenticates `Authorization: Bearer <token>` for an API whose self-signed-JWT audience is `audience`
   * (e.g. https://cloudkms.googleapis.com/) and which accepts any of `scopes`.
   */
  authenticate(authorization: string | undefined, audience: string, scopes: string[], now = Date.now()): GcpAuthResult {
    const unauthenticated = (message: string): GcpAuthResult => ({ error: 'UNAUTHENTICATED', message });
    const invalid =
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
    const match = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match)
      return unauthenticated(
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    const token = match[1]!;
    const issued = this.accessTokens.get(token);
    if (issued) {
      if (issued.expiresAt <= now) return unauthenticated(invalid);
      if (!issued.scopes.some((scope) => scopes.includes(scope)))
        return { error: 'PERMISSION_DENIED', message: 'Request had insufficient authentication scopes.' };
      const account = this.accounts.get(issued.email);
      if (!account || account.disabled) return unauthenticated(invalid);
      return { email: issued.email };
    }
    const jwt = decodeJwt(token);
    if (!jwt) return unauthenticated(invalid);
    const iss = jwt.payload.iss;
    const account = typeof iss === 'string' ? this.accounts.get(iss) : undefined;
    if (!account || account.disabled || account.revoked.has(token)) return unauthenticated(invalid);
    if (jwt.header.kid !== undefined && jwt.header.kid !== account.keyId) return unauthenticated(invalid);
    if (!verifyRs256(jwt, account.publicKey)) return unauthenticated(invalid);
    const { exp, iat, sub, aud, scope } = jwt.payload;
    const nowSeconds = Math.floor(now / 1000);
    if (typeof exp !== 'number' || typeof iat !== 'number') return unauthenticated(invalid);
    if (
      exp <= nowSeconds ||
      iat > nowSeconds + CLOCK_TOLERANCE_SECONDS ||
      exp - iat > MAX_JWT_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS
    ) {
      return unauthenticated(invalid);
    }
    if (sub !== undefined && sub !== iss) return unauthenticated(invalid);
    // AIP-4111: a self-signed JWT carries either the API audience or scopes.
    const scopeList = typeof scope === 'string' ? scope.split(/\s+/) : [];
    // google-auth-library uses the request URL as audience when no scopes are set; gax uses the API origin.
    const audienceOk = typeof aud === 'string' && (aud === audience.replace(/\/$/, '') || aud.startsWith(audience));
    if (!audienceOk && !scopeList.some((s) => scopes.includes(s))) return unauthenticated(invalid);
    account.seenTokens.add(token);
    return { email: account.email };
  }

  /** RFC 7523 §2.1 jwt-bearer grant: the assertion is signed by the SA and names the token endpoint as audience. */
  exchangeJwtBearer(
    assertion: string,
    tokenUrl: string,
    now = Date.now(),
  ): { access_token: string; expires_in: number; token_type: 'Bearer' } | { error: string; error_description: string } {
    const jwt = decodeJwt(assertion);
    const iss = jwt?.payload.iss;
    const account = typeof iss === 'string' ? this.accounts.get(iss) : undefined;
    if (!jwt || !account || account.disabled || !verifyRs256(jwt, account.publicKey)) {
      return { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' };
    }
    const { exp, iat, aud, scope } = jwt.payload;
    const nowSeconds = Math.floor(now / 1000);
    if (
      typeof exp !== 'number' ||
      typeof iat !== 'number' ||
      exp <= nowSeconds ||
      iat > nowSeconds + CLOCK_TOLERANCE_SECONDS
    ) {
      return {
        error: 'invalid_grant',
        error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      };
    }
    const audiences = [
      tokenUrl,
      this.tokenUri,
      'https://oauth2.googleapis.com/token',
      'https://www.googleapis.com/oauth2/v4/token',
    ];
    if (typeof aud !== 'string' || !audiences.includes(aud))
      return { error: 'invalid_grant', error_description: 'Invalid JWT audience.' };
    const accessToken = `ya29.emu-${randomId('', 24)}`;
    this.accessTokens.set(accessToken, {
      email: account.email,
      expiresAt: now + this.tokenLifetimeSeconds * 1000,
      scopes: typeof scope === 'string' ? scope.split(/\s+/) : [],
    });
    account.seenTokens.add(accessToken);
    return { access_token: accessToken, expires_in: this.tokenLifetimeSeconds, token_type: 'Bearer' };
  }
}
