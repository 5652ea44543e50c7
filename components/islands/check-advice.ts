'use client';

/** What a tenant admin can do about each failure code a proxy reports for a test (the proxy's TSP error codes). */
export function checkAdvice(code: number | null): string {
  switch (code) {
    case 201:
      return 'No proxy has this config yet: wait a few seconds for the proxies to pick it up, then test again.';
    case 204:
    case 205:
      return 'The KMS refused to wrap or unwrap with this key: check that the key exists, is enabled and is a symmetric encryption key.';
    case 206:
      return "The proxy's identity may not use this key: grant it (see the vendor's cloud identities below) or check the credentials you entered.";
    case 207:
      return 'The KMS says the config is invalid: check the key path (ARN, key ring and key, or vault URL and key name) and the region or location.';
    case 208:
      return 'The proxy could not reach the KMS: check the endpoint, firewall rules or private endpoint.';
    case 209:
      return 'The KMS throttled the request: try again in a minute, or raise the quota.';
    default:
      return 'Check the config and try again; the message above is what the provider said.';
  }
}
