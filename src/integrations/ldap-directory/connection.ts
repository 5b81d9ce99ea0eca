import { Client, ResultCodeError, type Entry, type Filter } from 'ldapts';
import { targetOf, withTimeout, type Target } from '../active-directory/connection.js';
import { LdapDirectoryError, toLdapError } from './errors.js';

export interface ConnectOptions {
  url: string;
  bindDn: string;
  password: string;
  ca?: Buffer;
  startTls?: boolean;
  allowPlain?: boolean;
  timeoutMs?: number;
}

export interface SearchRequest {
  base: string;
  scope: 'base' | 'one' | 'sub';
  filter: Filter | string;
  attributes: string[];
}

/** Binary attributes a profile may map; ldapts matches names case-sensitively, so every case is listed. */
const BINARY_ATTRIBUTES = ['jpegPhoto', 'photo', 'audio', 'userCertificate', 'userCertificate;binary', 'userSMIMECertificate', 'userPKCS12', 'thumbnailPhoto'];
const BUFFER_ATTRIBUTES = [...new Set(BINARY_ATTRIBUTES.flatMap((name) => [name, name.toLowerCase()]))];

export const PAGE_SIZE = 500;

/**
 * One bound connection to an LDAP directory, opened again after it was lost (a timeout drops it),
 * every call limited to timeoutMs, every failure a SyncError.
 */
export class LdapConnection {
  private ldap: Client | undefined;
  private opening: Promise<Client> | undefined;
  private closed = false;

  private constructor(
    private readonly target: Target,
    private readonly bindDn: string,
    private readonly password: string,
  ) {}

  /** Connects and binds: 'stop' for refused credentials, TLS or plain LDAP; 'transient' when unreachable. */
  static async connect(options: ConnectOptions): Promise<LdapConnection> {
    const target = targetOf(options);
    // RFC 4513 §5.1.2: a simple bind with a DN and no password is an unauthenticated (anonymous) bind.
    if (!options.password) throw new LdapDirectoryError('stop', `bind as ${options.bindDn}: an empty password would bind anonymously`);
    const connection = new LdapConnection(target, options.bindDn, options.password);
    await connection.ready();
    return connection;
  }

  get url(): string {
    return this.target.url;
  }

  /** A connection bound as `dn`; the caller unbinds it. */
  async open(dn: string, password: string): Promise<Client> {
    const { target } = this;
    const ldap = new Client({
      url: `${target.ldaps ? 'ldaps' : 'ldap'}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`,
      timeout: target.timeoutMs,
      connectTimeout: target.timeoutMs,
      ...(target.ldaps ? { tlsOptions: target.tls } : {}),
    });
    try {
      if (target.startTls) {
        await withTimeout(ldap.startTLS({ ...target.tls }), target.timeoutMs, 'StartTLS', () => void ldap.unbind().catch(() => undefined)).catch((e: unknown) => {
          // The server answered and said no: it has no TLS configured, which retrying will not change.
          if (e instanceof ResultCodeError) throw new LdapDirectoryError('stop', `StartTLS on ${target.url}: the server refused it (${e.message}) [LDAP ${e.code}]`, e.code, e.message);
          throw e;
        });
      }
      await ldap.bind(dn, password);
      return ldap;
    } catch (e) {
      await ldap.unbind().catch(() => undefined);
      throw toLdapError(e, `bind to ${target.url} as ${dn}`);
    }
  }

  private async ready(): Promise<Client> {
    if (this.closed) throw new LdapDirectoryError('stop', 'the LDAP directory source is closed');
    if (this.ldap?.isBound) return this.ldap;
    this.opening ??= (async () => {
      try {
        const previous = this.ldap;
        this.ldap = undefined;
        await previous?.unbind().catch(() => undefined);
        const ldap = await this.open(this.bindDn, this.password);
        if (this.closed) {
          await ldap.unbind().catch(() => undefined);
          throw new LdapDirectoryError('stop', 'the LDAP directory source is closed');
        }
        this.ldap = ldap;
        return ldap;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  /** One search answered in full (for base reads and other small answers). */
  async search(request: SearchRequest): Promise<Entry[]> {
    const ldap = await this.ready();
    try {
      const result = await ldap.search(request.base, { scope: request.scope, filter: request.filter, attributes: request.attributes, explicitBufferAttributes: BUFFER_ATTRIBUTES });
      return result.searchEntries;
    } catch (e) {
      throw toLdapError(e, describe(request));
    }
  }

  /** A search page by page (RFC 2696 paged results), each page within the timeout. */
  async *pages(request: SearchRequest, pageSize = PAGE_SIZE): AsyncGenerator<Entry[]> {
    const ldap = await this.ready();
    const pages = ldap.searchPaginated(request.base, {
      scope: request.scope,
      filter: request.filter,
      attributes: request.attributes,
      explicitBufferAttributes: BUFFER_ATTRIBUTES,
      paged: { pageSize },
    });
    for (;;) {
      let page: IteratorResult<{ searchEntries: Entry[] }>;
      try {
        page = await pages.next();
      } catch (e) {
        throw toLdapError(e, describe(request));
      }
      if (page.done) return;
      yield page.value.searchEntries;
    }
  }

  /** Every entry of a paged search. */
  async all(request: SearchRequest, pageSize = PAGE_SIZE): Promise<Entry[]> {
    const out: Entry[] = [];
    for await (const page of this.pages(request, pageSize)) out.push(...page);
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const ldap = this.ldap ?? (await this.opening?.catch(() => undefined));
    this.ldap = undefined;
    await ldap?.unbind().catch(() => undefined);
  }
}

function describe(request: SearchRequest): string {
  const filter = typeof request.filter === 'string' ? request.filter : request.filter.toString();
  return `search ${request.base || 'the root DSE'} (${request.scope}) for ${filter.length > 200 ? `${filter.slice(0, 200)}…` : filter}`;
}

/** ldapts's entry as lowercase attribute names to string values (binary values in base64), empty attributes dropped. */
export function attributesOf(raw: Entry): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name === 'dn') continue;
    const list = (Array.isArray(value) ? value : [value]) as (string | Buffer)[];
    if (list.length === 0) continue;
    out[name.toLowerCase()] = list.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
  }
  return out;
}
