import type { LoginFailure } from '../core/services/authentication.js';
import type { Actor } from '../core/context.js';
import { decodeUtf8 } from './ber.js';
import { parseDn } from './dn.js';
import type { Request } from './protocol.js';
import { ldapError, ResultCode } from './result-codes.js';
import type { LdapService, Session } from './service.js';

type BindRequest = Extract<Request, { op: 'bind' }>;

/** What each refusal looks like on the wire; the reason is journaled, the message tells the user. */
const FAILURES: Record<LoginFailure, string> = {
  INVALID_CREDENTIALS: 'Invalid credentials',
  NOT_ASSOCIATED: 'Invalid credentials',
  ACCOUNT_LOCKED: 'Invalid credentials: the account is locked',
  SUSPENDED: 'Invalid credentials: the account is suspended',
  NOT_ACTIVATED: 'Invalid credentials: the account is not activated',
  PASSWORD_EXPIRED: 'Invalid credentials: the password has expired',
  CREDENTIAL_UNAVAILABLE: 'Invalid credentials',
};

/**
 * checkVersion → refuseSasl → acceptAnonymous → refuseUnauthenticated → resolveUser → requireTls →
 * verifyPassword (lockout, suspension, expiry and the LDAP association, in the core) → journal.
 * The session is anonymous from the moment a bind arrives until one succeeds (RFC 4511 §4.2.1).
 */
export async function bind(service: LdapService, session: Session, request: BindRequest): Promise<void> {
  session.principal = { kind: 'anonymous' };
  if (request.version !== 3) throw ldapError(ResultCode.protocolError, 'Only LDAP version 3 is supported');
  if (request.auth.kind === 'sasl') {
    throw ldapError(ResultCode.authMethodNotSupported, `SASL ${request.auth.mechanism} is not supported; use a simple bind over TLS`);
  }
  const password = decodePassword(request.auth.password);
  if (request.name === '' && password === '') return; // RFC 4513 §5.1.1 anonymous: can read the root DSE only.
  if (request.name === '') throw ldapError(ResultCode.invalidCredentials, 'Invalid credentials');
  // RFC 4513 §5.1.2: a name without a password is an unauthenticated bind, which would "succeed" for anyone.
  if (password === '') throw ldapError(ResultCode.unwillingToPerform, 'Unauthenticated bind (a DN with an empty password) is not allowed');

  const dn = parseDn(request.name);
  if (!dn.ok) throw ldapError(ResultCode.invalidDNSyntax, dn.error);
  const orgId = service.orgIdOf(dn.value.normalized);
  const tree = orgId ? await service.tree(orgId) : undefined;
  if (!orgId || !tree) throw ldapError(ResultCode.invalidCredentials, 'Invalid credentials');
  const settings = service.settings(tree);
  if (!session.tls && !settings.allowPlainBind) {
    throw ldapError(ResultCode.confidentialityRequired, 'Binds need TLS: connect with LDAPS or use StartTLS');
  }
  const userId = tree.userIdOf(dn.value.normalized);
  const username = userId ? tree.view.users.get(userId)!.username : (dn.value.rdns[0]?.[0]?.value ?? '');
  const result = await service.core.authentication.verify(orgId, username, password, 'ldap', {
    admits: (user) => userId !== undefined && user.id === userId,
  });

  const actor: Actor = { type: 'user', id: result.user?.id ?? null };
  const details = { bindDn: request.name, client: session.client, tls: session.tls };
  if (!result.ok) {
    service.activity.record(orgId, actor, {
      objectType: 'directory',
      objectId: tree.view.resource.id,
      operation: 'ldap_bind',
      changes: {},
      details: { ...details, result: 'failure', reason: result.reason },
    });
    throw ldapError(ResultCode.invalidCredentials, FAILURES[result.reason]);
  }
  service.activity.record(
    orgId,
    actor,
    { objectType: 'directory', objectId: tree.view.resource.id, operation: 'ldap_bind', changes: {}, details: { ...details, result: 'success' } },
    settings.bindEventSampleRate,
  );
  session.principal = { kind: 'user', orgId, userId: result.user.id, dn: tree.userEntries.get(result.user.id)!.dn, binding: result.user.ldapBindingUser };
}

function decodePassword(bytes: Buffer): string {
  try {
    return decodeUtf8(bytes);
  } catch {
    throw ldapError(ResultCode.invalidCredentials, 'Invalid credentials');
  }
}
