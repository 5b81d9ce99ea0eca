import type { Directory } from './model.js';

/** What an ordinary (non-binding) user may read after binding. */
export type UserSearchAccess = 'none' | 'self' | 'all';

/** The LDAP service's settings, kept in its directory's configuration. */
export interface LdapSettings {
  /** What happens to a locked user: `disable` refuses binds, `remove` also hides the entry. */
  userLockoutAction: 'disable' | 'remove';
  /** The same for a user whose password has expired. */
  userPasswordExpirationAction: 'disable' | 'remove';
  /** Simple binds over a connection without TLS; off unless an administrator allows them. */
  allowPlainBind: boolean;
  userSearchAccess: UserSearchAccess;
  /** Share of successful binds journaled as events (failures always are). */
  bindEventSampleRate: number;
  /** Share of searches journaled as events. */
  searchEventSampleRate: number;
}

export const DEFAULT_LDAP_SETTINGS: LdapSettings = {
  userLockoutAction: 'disable',
  userPasswordExpirationAction: 'disable',
  allowPlainBind: false,
  userSearchAccess: 'self',
  bindEventSampleRate: 1,
  searchEventSampleRate: 0.01,
};

const rate = (value: unknown, fallback: number) =>
  typeof value === 'number' && value >= 0 && value <= 1 ? value : fallback;

export function ldapSettings(directory: Directory): LdapSettings {
  const c = directory.config;
  const d = DEFAULT_LDAP_SETTINGS;
  return {
    userLockoutAction: c.userLockoutAction === 'remove' ? 'remove' : d.userLockoutAction,
    userPasswordExpirationAction: c.userPasswordExpirationAction === 'remove' ? 'remove' : d.userPasswordExpirationAction,
    allowPlainBind: typeof c.allowPlainBind === 'boolean' ? c.allowPlainBind : d.allowPlainBind,
    userSearchAccess: c.userSearchAccess === 'none' || c.userSearchAccess === 'all' || c.userSearchAccess === 'self' ? c.userSearchAccess : d.userSearchAccess,
    bindEventSampleRate: rate(c.bindEventSampleRate, d.bindEventSampleRate),
    searchEventSampleRate: rate(c.searchEventSampleRate, d.searchEventSampleRate),
  };
}
