import { ResultCodeError } from 'ldapts';
import { SyncError, type SyncErrorKind } from '../../sync/errors.js';

/** A failure talking to an LDAP directory, as a sync error kind (DESIGN.md). */
export class LdapDirectoryError extends SyncError {
  constructor(
    kind: SyncErrorKind,
    message: string,
    /** The LDAP result code, when the server answered. */
    readonly ldapCode?: number,
    /** The server's diagnostic message, when it gave one. */
    readonly reason?: string,
  ) {
    super(kind, message, ldapCode);
    this.name = 'LdapDirectoryError';
  }
}

/** RFC 4511 §4.1.9 result codes by kind; anything else fails the one request (bad_request). */
const RESULT_KIND: Record<number, SyncErrorKind> = {
  1: 'transient', // operationsError
  3: 'transient', // timeLimitExceeded
  51: 'transient', // busy
  52: 'transient', // unavailable
  80: 'transient', // other
  32: 'not_found', // noSuchObject
  7: 'stop', // authMethodNotSupported
  8: 'stop', // strongerAuthRequired
  13: 'stop', // confidentialityRequired
  48: 'stop', // inappropriateAuthentication
  49: 'stop', // invalidCredentials
  50: 'stop', // insufficientAccessRights: the bind account may not read what it must
  4: 'stop', // sizeLimitExceeded: the server caps what this account may read, paging or not
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EPIPE', 'EAI_AGAIN']);
/** Certificate and handshake failures: retrying will not help until someone fixes the trust or the URL. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|EPROTO$|HOSTNAME_MISMATCH|ERR_OSSL)/;

/**
 * Any failure of an LDAP call as a SyncError: the server's result code decides the kind, network
 * trouble and timeouts are transient, TLS trouble stops the run. `what` names the call.
 */
export function toLdapError(e: unknown, what: string): SyncError {
  if (e instanceof SyncError) return e;
  if (e instanceof ResultCodeError) {
    const reason = e.message.trim();
    const kind = RESULT_KIND[e.code] ?? 'bad_request';
    let text = reason || e.name.replace(/Error$/, '');
    if (e.code === 49) text = `the directory refused the credentials (${reason || 'invalid credentials'})`;
    if (e.code === 8 || e.code === 13) text = `the directory requires an encrypted connection (${reason})`;
    if (e.code === 4) text = `the directory's size limit cut the answer short (${reason}); let the bind account read more entries (slapd: limits … size.prtotal=unlimited)`;
    return new LdapDirectoryError(kind, `${what}: ${text} [LDAP ${e.code}]`, e.code, reason || undefined);
  }
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && NETWORK_CODES.has(code)) return new LdapDirectoryError('transient', `${what}: ${e.message}`);
    if (code === 'ENOTFOUND') return new LdapDirectoryError('stop', `${what}: the host name does not resolve (${e.message})`);
    if ((code && TLS_CODE.test(code)) || /certificate|SSL routines|TLS/i.test(e.message)) {
      return new LdapDirectoryError('stop', `${what}: TLS failed — ${e.message} (is the CA right, and does the certificate name the host?)`);
    }
    // ldapts's own: "Connection timeout", "…: Operation timed out", "Connection closed before …", "Socket error …".
    return new LdapDirectoryError('transient', `${what}: ${e.message.split('\n').join(' ')}`);
  }
  return new LdapDirectoryError('transient', `${what}: ${String(e)}`);
}
