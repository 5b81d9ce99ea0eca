import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { AdError } from './errors.js';

export interface AdConnectOptions {
  /** ldaps://host[:636] by default; ldap://host[:389] only with startTls or allowPlain. */
  url: string;
  /** A DN, a UPN (user@realm) or DOMAIN\user: AD takes any of them in a simple bind. */
  bindDn: string;
  password: string;
  /** The CA that signed the DC's certificate (PEM); the system's CAs when absent. */
  ca?: Buffer | string;
  /** Upgrade an ldap:// connection with StartTLS before binding. */
  startTls?: boolean;
  /** Bind over plain ldap:// without TLS: the password crosses the network in clear. */
  allowPlain?: boolean;
  /** Every network call: connect, TLS handshake, each request and each page (15 s unless given). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 15_000;

/** Where and how to connect, checked once. */
export interface Target {
  url: string;
  host: string;
  port: number;
  /** TLS from the first byte (ldaps://). */
  ldaps: boolean;
  startTls: boolean;
  /** TLS in some form: passwords may be sent. */
  encrypted: boolean;
  tls: ConnectionOptions;
  timeoutMs: number;
}

export function targetOf(options: AdConnectOptions): Target {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new AdError('stop', `${JSON.stringify(options.url)} is not an LDAP URL`);
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'ldap' && scheme !== 'ldaps') throw new AdError('stop', `${options.url}: the URL must start with ldaps:// (or ldap:// with StartTLS)`);
  const ldaps = scheme === 'ldaps';
  const startTls = !ldaps && options.startTls === true;
  if (!ldaps && !startTls && options.allowPlain !== true) {
    throw new AdError('stop', `${options.url}: plain LDAP would send the password in clear; use ldaps://, startTls, or allowPlain explicitly`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const port = parsed.port ? Number(parsed.port) : ldaps ? 636 : 389;
  const tls: ConnectionOptions = {
    host,
    port,
    minVersion: 'TLSv1.2',
    ...(isIP(host) ? {} : { servername: host }),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new AdError('stop', 'timeoutMs must be positive');
  return { url: `${scheme}://${parsed.host}`, host, port, ldaps, startTls, encrypted: ldaps || startTls, tls, timeoutMs };
}

/** `promise`, or a transient AdError after `ms`; `onTimeout` cleans up what the promise holds. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new AdError('transient', `${what}: no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A DN in a form fit for comparison: lowercase, no spaces around separators. */
export const dnKey = (dn: string): string => dn.trim().toLowerCase().replace(/\s*([,=+])\s*/g, '$1');

/** Whether `dn` is `base` or below it. */
export function isWithin(dn: string, base: string): boolean {
  const d = dnKey(dn);
  const b = dnKey(base);
  return d === b || d.endsWith(`,${b}`);
}

/** A DN value without AD's extended-DN prefixes ("<GUID=…>;<SID=…>;CN=…"). */
export const plainDn = (dn: string): string => dn.replace(/^(<[A-Za-z]+=[^>]*>;)+/, '');

/** An attribute value escaped for an LDAP filter (RFC 4515). */
export const escapeFilterValue = (value: string): string =>
  value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** An RDN attribute value escaped for a DN (RFC 4514). */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=\0]/g, (c) => (c === '\0' ? '\\00' : `\\${c}`));
  if (/^[ #]/.test(out)) out = `\\${out}`;
  if (/ $/.test(out)) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** How a client of one kind of directory words its failures (AD's, another LDAP directory's). */
export interface ClientErrors {
  /** Any failure of `what`, as the client's error type with a sync error kind. */
  fail(e: unknown, what: string): Error;
  /** A failure that retrying will not mend ('stop'). */
  stop(message: string, ldapCode?: number): Error;
}

/**
 * Bound connections to one directory server: `open` makes one bound as a DN (StartTLS first when
 * the target says so), `ready` the client's main one, opened again after it was lost (a timeout
 * drops it, so does a server's idle limit), shared by concurrent callers.
 */
export class BoundClient {
  private ldap: Client | undefined;
  private opening: Promise<Client> | undefined;
  private closed = false;

  constructor(
    readonly target: Target,
    private readonly bindDn: string,
    private readonly password: string,
    private readonly errors: ClientErrors,
    /** What the client is, for "… is closed". */
    private readonly name: string,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** A connection bound as `dn`, each request limited to timeoutMs; the caller unbinds it. */
  async open(dn: string, password: string, timeoutMs = this.target.timeoutMs): Promise<Client> {
    const { target } = this;
    const ldap = new Client({
      url: `${target.ldaps ? 'ldaps' : 'ldap'}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`,
      timeout: timeoutMs,
      connectTimeout: target.timeoutMs,
      ...(target.ldaps ? { tlsOptions: target.tls } : {}),
    });
    try {
      if (target.startTls) {
        await withTimeout(ldap.startTLS({ ...target.tls }), target.timeoutMs, 'StartTLS', () => void ldap.unbind().catch(() => undefined)).catch((e: unknown) => {
          // The server answered and said no: it has no TLS configured, which retrying will not change.
          if (e instanceof ResultCodeError) throw this.errors.stop(`StartTLS on ${target.url}: the server refused it (${e.message}) [LDAP ${e.code}]`, e.code);
          throw e;
        });
      }
      await ldap.bind(dn, password);
      return ldap;
    } catch (e) {
      await ldap.unbind().catch(() => undefined);
      throw this.errors.fail(e, `bind to ${target.url} as ${dn}`);
    }
  }

  /** The bound main connection, opened again when it was lost. */
  async ready(): Promise<Client> {
    if (this.closed) throw this.errors.stop(`the ${this.name} is closed`);
    if (this.ldap?.isBound) return this.ldap;
    this.opening ??= (async () => {
      try {
        const previous = this.ldap;
        this.ldap = undefined;
        await previous?.unbind().catch(() => undefined);
        const ldap = await this.open(this.bindDn, this.password);
        if (this.closed) {
          await ldap.unbind().catch(() => undefined);
          throw this.errors.stop(`the ${this.name} is closed`);
        }
        this.ldap = ldap;
        return ldap;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  /** Opens the main connection with the service account's credentials, for another use (a DirSync round with a longer limit). */
  openMain(timeoutMs?: number): Promise<Client> {
    return this.open(this.bindDn, this.password, timeoutMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    const ldap = this.ldap ?? (await this.opening?.catch(() => undefined));
    this.ldap = undefined;
    await ldap?.unbind().catch(() => undefined);
  }
}
