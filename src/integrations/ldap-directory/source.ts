import { EqualityFilter } from 'ldapts';
import type { AdObject } from '../active-directory/agent.js';
import { contextCsn, scanMark } from './change-mark.js';
import { attributesOf, LdapConnection, type ConnectOptions } from './connection.js';
import { LdapDirectoryError } from './errors.js';
import { ScopeReader, type ScopeReadOptions } from './scope.js';
import { isSyncError } from '../../sync/errors.js';

export interface LdapDirectoryOptions extends ConnectOptions {
  /** Where users and groups live; the root DSE's defaultNamingContext, else its first namingContexts value, when absent. */
  baseDn?: string;
  /** Tuning of the scope read; the defaults suit slapd. */
  scopeRead?: ScopeReadOptions;
}

/** A generic LDAP directory (OpenLDAP, 389-ds, FreeIPA) as the directory agent reads it. */
export interface LdapDirectorySource {
  namingContext(): Promise<string>;
  /** Users and groups in the scope: the members, nested at any depth, of groupDn (the scope group itself is NOT in groups; nested groups are). Cycle-safe. */
  scope(groupDn: string, userAttributes: string[]): Promise<{ users: AdObject[]; groups: AdObject[] }>;
  /** A string that changes whenever any entry under the base is added, modified or deleted (contextCSN, else a digest of every entryCSN); compare for equality only. */
  changeMark(): Promise<string>;
  /** Delegated authentication: a simple bind as the user on a connection of its own, closed at once. Empty password → {ok:false}. Wrong password → {ok:false, reason}. Unreachable server → throws. Never log the password. */
  authenticate(userDn: string, password: string): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** The DN of the entry with this entryUUID under the base; undefined when there is none. */
  dnOf(entryUuid: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Bind refusals that are the user's, not the configuration's: RFC 4511 invalidCredentials, and what 389-ds answers for a locked account (unwillingToPerform "Account inactivated", constraintViolation "Exceed password retry limit"). */
const USER_REFUSALS: Record<number, string> = { 49: 'invalid credentials', 53: 'the directory refused the bind', 19: 'the directory refused the bind', 34: 'not a valid DN' };

/** Connects and binds as the service account: 'stop' for refused credentials, TLS trouble or plain LDAP without allowPlain; 'transient' when unreachable. */
export async function openLdapDirectorySource(options: LdapDirectoryOptions): Promise<LdapDirectorySource> {
  const ldap = await LdapConnection.connect(options);
  let rootDse: Promise<Record<string, string[]>> | undefined;
  let base: Promise<string> | undefined;
  let byDn: Promise<'entrydn' | 'base'> | undefined;

  const readRootDse = () =>
    (rootDse ??= ldap
      .search({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['namingContexts', 'defaultNamingContext', 'supportedControl'] })
      .then(([entry]) => {
        if (!entry) throw new LdapDirectoryError('stop', `${ldap.url} has no root DSE: is this an LDAP v3 directory?`);
        return attributesOf(entry);
      })
      .catch((e: unknown) => {
        rootDse = undefined;
        throw e;
      }));

  const namingContext = () =>
    (base ??= (async () => {
      if (options.baseDn) return options.baseDn;
      const dse = await readRootDse();
      const nc = dse.defaultnamingcontext?.[0] ?? dse.namingcontexts?.[0];
      if (!nc) throw new LdapDirectoryError('stop', `${ldap.url} names no naming context in its root DSE: set baseDn`);
      return nc;
    })().catch((e: unknown) => {
      base = undefined;
      throw e;
    }));

  // slapd resolves (entryDN=…) through its DN index; a server without entryDN leaves the filter Undefined and matches nothing.
  const readByDn = () =>
    (byDn ??= (async () => {
      const nc = await namingContext();
      const found = await ldap.search({ base: nc, scope: 'base', filter: new EqualityFilter({ attribute: 'entryDN', value: nc }), attributes: ['1.1'] });
      return found.length > 0 ? ('entrydn' as const) : ('base' as const);
    })().catch((e: unknown) => {
      byDn = undefined;
      throw e;
    }));

  return {
    namingContext,

    async scope(groupDn, userAttributes) {
      const nc = await namingContext();
      const reader = new ScopeReader(ldap, nc, userAttributes, options.scopeRead?.byDn ?? (await readByDn()), options.scopeRead);
      return reader.read(groupDn, userAttributes);
    },

    async changeMark() {
      const nc = await namingContext();
      return (await contextCsn(ldap, nc, (await readRootDse()).supportedcontrol ?? [])) ?? (await scanMark(ldap, nc));
    },

    async authenticate(userDn, password) {
      // RFC 4513 §5.1.2: a simple bind with an empty password is anonymous and succeeds; never a proof.
      if (password === '' || userDn.trim() === '') return { ok: false, reason: 'empty user or password' };
      try {
        const client = await ldap.open(userDn, password);
        await client.unbind().catch(() => undefined);
        return { ok: true };
      } catch (e) {
        const code = e instanceof LdapDirectoryError ? e.ldapCode : undefined;
        if (code !== undefined && USER_REFUSALS[code]) {
          const reason = e instanceof LdapDirectoryError && e.reason && !/^invalid credentials$/i.test(e.reason) ? `${USER_REFUSALS[code]}: ${e.reason}` : USER_REFUSALS[code]!;
          return { ok: false, reason };
        }
        throw isSyncError(e) ? e : new LdapDirectoryError('transient', `bind as ${userDn}: ${String(e)}`);
      }
    },

    async dnOf(entryUuid) {
      const nc = await namingContext();
      const [entry] = await ldap.search({ base: nc, scope: 'sub', filter: new EqualityFilter({ attribute: 'entryUUID', value: entryUuid }), attributes: ['1.1'] });
      return entry?.dn;
    },

    close: () => ldap.close(),
  };
}
