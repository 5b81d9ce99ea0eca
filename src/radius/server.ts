import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { ActivityRecorder } from '../core/activity-recorder.js';
import type { DirectoryCore } from '../core/directory.js';
import { MAX_PACKET_LENGTH } from './packet.js';
import { RadiusService } from './service.js';

export interface RadiusServerOptions {
  host: string;
  authPort: number | null;
  acctPort: number | null;
  tls?: { cert: Buffer; key: Buffer };
  maxPending: number;
  clientRate: number;
  maxConversations: number;
}

export interface RadiusListening {
  authPort?: number;
  acctPort?: number;
}

interface Log {
  error(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

/** How long an answered request's response is kept for retransmissions (RFC 5080 §2.2.2). */
const DUPLICATE_WINDOW_MS = 5000;
const MAX_REMEMBERED = 100_000;

interface Remembered {
  /** Undefined while the request is being answered: duplicates are dropped meanwhile. */
  response?: Buffer;
  expires: number;
}

/** A token bucket per client address: `rate` requests per second, bursts up to one second's worth. */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: number) {}

  allow(address: string, now: number): boolean {
    const bucket = this.buckets.get(address) ?? { tokens: this.rate, at: now };
    bucket.tokens = Math.min(this.rate, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    if (this.buckets.size > 100_000) this.buckets.clear();
    this.buckets.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/**
 * The RADIUS front-end's UDP side: the authentication and accounting ports, duplicate detection,
 * per-client rate limits and a bound on requests in progress. Anything that cannot be answered
 * properly is dropped, as RADIUS expects; the NAS retransmits.
 */
export class RadiusListener {
  readonly service: RadiusService;
  private readonly sockets: Socket[] = [];
  private readonly remembered = new Map<string, Remembered>();
  private readonly limiter: RateLimiter;
  private readonly activity: ActivityRecorder;
  private pending = 0;

  constructor(
    core: DirectoryCore,
    private readonly options: RadiusServerOptions,
    private readonly log: Log,
  ) {
    this.activity = new ActivityRecorder(core, 'radius', (e) => log.error({ err: e }, 'could not journal RADIUS events'), 200);
    this.service = new RadiusService(core, this.activity, {
      ...(options.tls ? { tls: options.tls } : {}),
      maxConversations: options.maxConversations,
      conversationTimeoutMs: 30_000,
    });
    this.limiter = new RateLimiter(options.clientRate);
  }

  async listen(): Promise<RadiusListening> {
    const out: RadiusListening = {};
    if (this.options.authPort !== null) out.authPort = await this.bind(this.options.authPort, (d, a) => this.service.access(d, a));
    if (this.options.acctPort !== null) out.acctPort = await this.bind(this.options.acctPort, (d, a) => this.service.accounting(d, a));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.sockets.length = 0;
    this.service.close();
    await this.activity.flush();
  }

  private async bind(port: number, handle: (datagram: Buffer, address: string) => Promise<Buffer | undefined>): Promise<number> {
    const socket = createSocket({ type: isIPv6(this.options.host) ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    this.sockets.push(socket);
    socket.on('message', (datagram, remote) => this.receive(socket, datagram, remote, handle));
    socket.on('error', (e) => this.log.error({ err: e }, 'RADIUS socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, this.options.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return socket.address().port;
  }

  private receive(socket: Socket, datagram: Buffer, remote: RemoteInfo, handle: (datagram: Buffer, address: string) => Promise<Buffer | undefined>): void {
    const counters = this.service.counters;
    if (datagram.length < 20 || datagram.length > MAX_PACKET_LENGTH) {
      counters.malformed++;
      return;
    }
    const now = Date.now();
    // Identifier and Request Authenticator, from this source address and port (RFC 5080 §2.2.2).
    const key = `${remote.address}|${remote.port}|${datagram.toString('latin1', 0, 2)}${datagram.toString('latin1', 4, 20)}`;
    const seen = this.remembered.get(key);
    if (seen && seen.expires > now) {
      if (seen.response) socket.send(seen.response, remote.port, remote.address);
      return;
    }
    if (this.pending >= this.options.maxPending || !this.limiter.allow(remote.address, now)) {
      counters.dropped++;
      return;
    }
    this.remember(key, { expires: now + DUPLICATE_WINDOW_MS });
    this.pending++;
    handle(datagram, remote.address)
      .then((response) => {
        if (response) {
          this.remember(key, { response, expires: Date.now() + DUPLICATE_WINDOW_MS });
          socket.send(response, remote.port, remote.address);
        } else this.remembered.delete(key);
      })
      .catch((e: unknown) => {
        this.remembered.delete(key);
        counters.dropped++;
        this.log.error({ err: e, client: remote.address }, 'RADIUS request failed');
      })
      .finally(() => this.pending--);
  }

  private remember(key: string, value: Remembered): void {
    this.remembered.delete(key);
    this.remembered.set(key, value);
    // Every write re-inserts, so the Map is in expiry order: drop what expired from the front.
    const now = Date.now();
    for (const [k, v] of this.remembered) {
      if (v.expires > now && this.remembered.size <= MAX_REMEMBERED) break;
      this.remembered.delete(k);
    }
  }
}
