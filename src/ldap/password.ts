import { foldCase } from '../core/query.js';
import { randomPassword } from '../core/secrets.js';
import { parseDn } from './dn.js';
import { decodePasswordModify, encodeGeneratedPassword } from './protocol.js';
import { ldapError, ResultCode } from './result-codes.js';
import type { LdapService, Session } from './service.js';

/**
 * RFC 3062 Password Modify, for the bound user's own password: requireBound → requireTls →
 * resolveIdentity → requireOldPassword → changePassword (the core verifies the old one, enforces
 * the org's policy and history, and journals) → return a generated password if none was given.
 */
export async function passwordModify(service: LdapService, session: Session, value: Buffer | undefined): Promise<Buffer | undefined> {
  const request = decodePasswordModify(value);
  if (!request.ok) throw ldapError(ResultCode.protocolError, request.error);
  const principal = session.principal;
  if (principal.kind !== 'user') throw ldapError(ResultCode.unwillingToPerform, 'Bind first: only your own password can be changed');
  const tree = await service.tree(principal.orgId);
  if (!tree) throw ldapError(ResultCode.unwillingToPerform, 'The organization no longer exists');
  if (!session.tls && !service.settings(tree).allowPlainBind) {
    throw ldapError(ResultCode.confidentialityRequired, 'Password changes need TLS: connect with LDAPS or use StartTLS');
  }
  const { user: identity, oldPassword, newPassword } = request.value;
  if (identity !== undefined && identity !== '') {
    const target = identity.startsWith('dn:') ? identity.slice(3) : identity.startsWith('u:') ? undefined : identity;
    const sameUser = identity.startsWith('u:')
      ? tree.view.userIdsByName.get(foldCase(identity.slice(2))) === principal.userId
      : (() => {
          const dn = parseDn(target ?? '');
          return dn.ok && tree.userIdOf(dn.value.normalized) === principal.userId;
        })();
    if (!sameUser) throw ldapError(ResultCode.insufficientAccessRights, "Only your own password can be changed over LDAP; administrators use the API");
  }
  if (!oldPassword) throw ldapError(ResultCode.unwillingToPerform, 'The old password is required (ldappasswd -a or -A)');
  const user = tree.view.users.get(principal.userId);
  if (!user) throw ldapError(ResultCode.insufficientAccessRights, 'The account is no longer connected to the LDAP directory');
  const chosen = newPassword || randomPassword(tree.view.org.settings.passwordPolicy.minLength);
  const result = await service.core.authentication.changePassword(principal.orgId, user.username, oldPassword, chosen, 'ldap', {
    admits: (u) => u.id === principal.userId,
  });
  if (!result.ok) throw ldapError(ResultCode.invalidCredentials, 'The old password is not correct');
  return newPassword ? undefined : encodeGeneratedPassword(chosen);
}
