import { isIPv4 } from 'node:net';
import type { DirectoryCore } from '../core/directory.js';
import type { RadiusServer } from '../core/model.js';
import { addressMatcher } from '../core/network-ranges.js';

/** A RADIUS server as the front-end serves it: its settings and its unsealed shared secret. */
export interface RadiusClient {
  server: RadiusServer;
  secret: Buffer;
}

interface Entry {
  client: RadiusClient;
  matches: (address: string) => boolean;
}

/** "::ffff:10.1.2.3" → "10.1.2.3": a dual-stack socket reports IPv4 peers in mapped form. */
export const plainAddress = (address: string): string => (address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address);

/**
 * Which RADIUS server (and so which org and secret) a datagram belongs to, by its source address.
 * Ranges never overlap across servers, so at most one matches. Reloaded when the servers'
 * version changes, checked at most once per `checkMs`.
 */
export class ClientRegistry {
  private entries: Entry[] = [];
  private version: string | undefined;
  private checkedAt = 0;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly core: DirectoryCore,
    private readonly checkMs = 1000,
  ) {}

  async lookup(address: string): Promise<RadiusClient | undefined> {
    if (Date.now() - this.checkedAt >= this.checkMs) await this.refresh();
    const plain = plainAddress(address);
    return this.entries.find((e) => e.matches(plain))?.client;
  }

  /** Reloads now if the servers changed (an administrator's change in this process, or a test). */
  refresh(): Promise<void> {
    this.checking ??= this.load().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async load(): Promise<void> {
    const version = await this.core.radiusServers.version();
    this.checkedAt = Date.now();
    if (version === this.version) return;
    const serving = await this.core.radiusServers.serving();
    this.entries = serving.servers.map(({ server, sharedSecret }) => ({ client: { server, secret: sharedSecret }, matches: addressMatcher(server.networkSourceIps) }));
    this.version = serving.version;
  }
}
