import type { Client, Entry, Filter } from 'ldapts';
import { BoundClient, targetOf, type AdConnectOptions, type ClientErrors, type Target } from '../active-directory/connection.js';
import { LdapDirectoryError, toLdapError } from './errors.js';

/** Where and as whom to connect: the same settings as for a domain controller. */
export type ConnectOptions = AdConnectOptions;

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

/** Another LDAP directory's failures as LdapDirectoryErrors (sync error kinds). */
const LDAP_ERRORS: ClientErrors = {
  fail: (e, what) => toLdapError(e, what),
  stop: (message, ldapCode) => new LdapDirectoryError('stop', message, ldapCode),
};

/**
 * One bound connection to an LDAP directory, opened again after it was lost (a timeout drops it),
 * every call limited to timeoutMs, every failure a SyncError.
 */
export class LdapConnection {
  private readonly connection: BoundClient;

  private constructor(target: Target, bindDn: string, password: string) {
    this.connection = new BoundClient(target, bindDn, password, LDAP_ERRORS, 'LDAP directory source');
  }

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
    return this.connection.target.url;
  }

  /** A connection bound as `dn`; the caller unbinds it. */
  open(dn: string, password: string): Promise<Client> {
    return this.connection.open(dn, password);
  }

  private ready(): Promise<Client> {
    return this.connection.ready();
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

  close(): Promise<void> {
    return this.connection.close();
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
