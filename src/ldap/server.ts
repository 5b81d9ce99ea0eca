import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext } from 'node:tls';
import type { DirectoryCore } from '../core/directory.js';
import { ActivityRecorder } from '../core/activity-recorder.js';
import { LdapConnection, type ConnectionLimits } from './connection.js';
import { LdapService } from './service.js';

export interface LdapServerOptions extends ConnectionLimits {
  host: string;
  /** Plain LDAP (StartTLS available when TLS is configured); null turns it off. */
  port: number | null;
  /** LDAPS; null turns it off. Needs `tls`. */
  tlsPort: number | null;
  suffix: string;
  tls?: { cert: Buffer; key: Buffer };
  maxConnections: number;
  version: string;
}

export interface LdapListening {
  port?: number;
  tlsPort?: number;
}

/** The LDAP v3 front-end: listeners, connection limits, and the service they share. */
export class LdapServer {
  readonly service: LdapService;
  private readonly servers: Server[] = [];
  private readonly connections = new Set<LdapConnection>();
  private readonly tlsContext: SecureContext | undefined;
  private readonly activity: ActivityRecorder;

  constructor(
    core: DirectoryCore,
    private readonly options: LdapServerOptions,
    private readonly log: { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void },
  ) {
    this.tlsContext = options.tls ? createSecureContext({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }) : undefined;
    this.activity = new ActivityRecorder(core, 'ldap', (e) => log.error({ err: e }, 'could not journal LDAP events'));
    this.service = new LdapService(core, this.activity, { suffix: options.suffix, version: options.version, tls: this.tlsContext !== undefined });
  }

  async listen(): Promise<LdapListening> {
    const out: LdapListening = {};
    if (this.options.port !== null) {
      const server = createTcpServer((socket) => this.accept(socket, false));
      out.port = await this.start(server, this.options.port);
    }
    if (this.options.tlsPort !== null && this.options.tls) {
      const { cert, key } = this.options.tls;
      const server = createTlsServer({ cert, key, minVersion: 'TLSv1.2' }, (socket) => this.accept(socket, true));
      server.on('tlsClientError', () => undefined);
      out.tlsPort = await this.start(server, this.options.tlsPort);
    }
    return out;
  }

  private async start(server: Server, port: number): Promise<number> {
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  private accept(socket: Socket, tls: boolean): void {
    if (this.connections.size >= this.options.maxConnections) {
      this.log.warn({ client: socket.remoteAddress }, 'LDAP connection refused: connection limit reached');
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined);
    const connection: LdapConnection = new LdapConnection(
      socket,
      this.service,
      this.options,
      this.tlsContext,
      tls,
      (e) => this.log.error({ err: e }, 'LDAP request failed'),
      () => this.connections.delete(connection),
    );
    this.connections.add(connection);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))).concat(
      [...this.connections].map(async (c) => c.close()),
    ));
    await this.activity.flush();
  }

  /** Writes queued activity events now (tests and shutdown). */
  flushActivity(): Promise<void> {
    return this.activity.flush();
  }
}
