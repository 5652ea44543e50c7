import { createHash } from 'node:crypto';

/**
 * SDK clients shared across tenant configs: one per credential and region (AWS), per credential and endpoint (GCP),
 * per credential (Azure token credential) and per key id (Azure CryptographyClient). Configs of many tenants that use
 * the vendor's identity in one region share one client, its connection pool and its cached tokens. Keys are hashes,
 * so credentials are not kept as map keys.
 */
export class SharedClients {
  private readonly clients = new Map<string, unknown>();
  private readonly closers: (() => Promise<void>)[] = [];

  get<T>(kind: string, identity: unknown[], create: () => T, close?: (client: T) => Promise<void>): T {
    const key = `${kind}:${createHash('sha256').update(JSON.stringify(identity)).digest('base64url')}`;
    let client = this.clients.get(key) as T | undefined;
    if (client === undefined) {
      client = create();
      this.clients.set(key, client);
      if (close) {
        const created = client;
        this.closers.push(() => close(created));
      }
    }
    return client;
  }

  get size(): number {
    return this.clients.size;
  }

  async close(): Promise<void> {
    const closers = this.closers.splice(0);
    this.clients.clear();
    await Promise.all(closers.map((close) => close().catch(() => undefined)));
  }
}
