import { Duplex } from 'node:stream';
import { createServer, TLSSocket, type PeerCertificate, type SecureContext } from 'node:tls';

/** TLS 1.2, as FreeRADIUS 3.2 uses inside EAP: the key derivations here are those of TLS 1.2 (RFC 5216, 5281). */
export const TLS_VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

/**
 * A server-side TLS session driven by EAP messages instead of a socket: ciphertext from the peer
 * goes in with `receive`, and what TLS wants to send comes out of `take`. Used by EAP-TTLS and
 * PEAP, whose TLS records travel inside EAP (RFC 5281, draft-josefsson-pppext-eap-tls-eap).
 */
/**
 * What the server side of a tunnel is made of: a prepared context (PEAP, EAP-TTLS), or — for
 * EAP-TLS, which asks the peer for a certificate — the server's certificate and key and the CAs
 * users' certificates must chain to.
 */
export type TunnelCredentials = { context: SecureContext } | { clientCertificates: { cert: Buffer; key: Buffer; ca: string } };

export class TlsTunnel {
  private readonly outgoing: Buffer[] = [];
  private readonly plaintext: Buffer[] = [];
  private readonly transport: Duplex;
  private socket: TLSSocket | undefined;
  private failure: Error | undefined;
  private established = false;

  constructor(credentials: TunnelCredentials) {
    const outgoing = this.outgoing;
    this.transport = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        outgoing.push(chunk);
        callback();
      },
    });
    this.transport.on('error', () => undefined);
    if ('context' in credentials) {
      this.attach(new TLSSocket(this.transport, { isServer: true, secureContext: credentials.context }));
      this.socket!.on('secure', () => (this.established = true));
    } else {
      // Node verifies a client certificate (and sets `authorized`) only for sockets a tls.Server
      // accepted, so the transport is handed to a server of its own, as a connection is. A bad
      // certificate does not abort the handshake: the method reads `peer` and decides.
      const server = createServer({ ...credentials.clientCertificates, ...TLS_VERSIONS, requestCert: true, rejectUnauthorized: false });
      server.on('secureConnection', (socket: TLSSocket) => {
        this.attach(socket);
        this.established = true;
      });
      server.on('tlsClientError', (e: Error) => (this.failure ??= e));
      server.emit('connection', this.transport);
    }
  }

  private attach(socket: TLSSocket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.plaintext.push(chunk));
    socket.on('error', (e: Error) => (this.failure ??= e));
  }

  get isEstablished(): boolean {
    return this.established;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** The peer's certificate once established, and whether it chains to a trusted CA. */
  get peer(): { certificate: PeerCertificate | undefined; authorized: boolean } {
    const certificate = this.socket?.getPeerCertificate();
    const present = certificate !== undefined && Object.keys(certificate).length > 0;
    return { certificate: present ? certificate : undefined, authorized: this.socket?.authorized === true };
  }

  /** Hands TLS records from the peer to TLS and waits until it has answered them. */
  async receive(records: Buffer): Promise<void> {
    if (records.length > 0) this.transport.push(records);
    await this.settle();
  }

  /** Encrypts application data (the inner method's messages) towards the peer. */
  async send(data: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new Error('the TLS tunnel is not established');
    await new Promise<void>((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve())));
    await this.settle();
  }

  /** Ciphertext TLS produced since the last call. */
  take(): Buffer {
    const out = Buffer.concat(this.outgoing);
    this.outgoing.length = 0;
    return out;
  }

  /** Decrypted application data the peer sent since the last call. */
  takePlaintext(): Buffer {
    const out = Buffer.concat(this.plaintext);
    this.plaintext.length = 0;
    return out;
  }

  /** RFC 5705 keying material: PRF(master secret, label, client random ‖ server random) in TLS 1.2. */
  exportKeyingMaterial(length: number, label: string): Buffer {
    // No context at all (not an empty one): the two give different keys.
    if (!this.socket) throw new Error('the TLS tunnel is not established');
    const exportWithoutContext = this.socket.exportKeyingMaterial as (length: number, label: string) => Buffer;
    return exportWithoutContext.call(this.socket, length, label);
  }

  destroy(): void {
    this.socket?.destroy();
    this.transport.destroy();
  }

  /**
   * TLS runs inside Node's stream machinery, a few event-loop turns away from the push: wait
   * until a turn passes with no new output, plaintext or state change.
   */
  private async settle(): Promise<void> {
    let quiet = 0;
    let last = -1;
    for (let turn = 0; turn < 200 && quiet < 3; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      const mark = this.outgoing.length * 1_000_003 + this.plaintext.length * 7 + (this.established ? 1 : 0) + (this.failure ? 2 : 0);
      quiet = mark === last ? quiet + 1 : 0;
      last = mark;
    }
  }
}
