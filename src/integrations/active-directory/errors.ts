import { ResultCodeError } from 'ldapts';
import { SyncError, type SyncErrorKind } from '../../sync/errors.js';

/**
 * AD's failures as sync error kinds (DESIGN.md), with AD's own reason kept readable: its
 * diagnostic messages start with a Win32 error code ("0000052D: …"), and binds carry a sub-code
 * ("… AcceptSecurityContext error, data 52e, …").
 */
export class AdError extends SyncError {
  constructor(
    kind: SyncErrorKind,
    message: string,
    /** The LDAP result code, when the server answered. */
    readonly ldapCode?: number,
    /** AD's Win32 error code from the diagnostic message, 8 hex digits ("0000052D"). */
    readonly adCode?: string,
    /** AD's reason, cleaned of codes and source locations. */
    readonly reason?: string,
    /** A bind's sub-code ("52e", "533", "775" …). */
    readonly bindData?: string,
    /** A DirSync cookie the server could not use: read everything again without one. */
    readonly invalidCookie = false,
  ) {
    super(kind, message, ldapCode);
    this.name = 'AdError';
  }
}

/** What AD's Win32 codes mean, for messages that carry only the code and internal detail. */
const WIN32: Record<string, string> = {
  '00000005': 'access denied',
  '0000001F': 'the operation needs an encrypted connection or is not allowed on this attribute',
  '00000056': 'the current password is wrong',
  '00000524': 'the account name is already in use',
  '00000525': 'no such user',
  '0000052D': "the password does not meet the domain's password policy (length, complexity, history or minimum age)",
  '00002071': 'an object with this name already exists',
  '0000208D': 'no such object',
  '0000202C': 'the request could not be decoded',
};

/** A bind's "data" sub-codes. */
const BIND_DATA: Record<string, string> = {
  '525': 'no such user',
  '52e': 'wrong password',
  '530': 'logon not permitted at this time',
  '531': 'logon not permitted from this workstation',
  '532': 'the password has expired',
  '533': 'the account is disabled',
  '568': 'too many security contexts',
  '701': 'the account has expired',
  '773': 'the password must be changed before logging on',
  '775': 'the account is locked out',
};

export const bindFailureText = (data: string | undefined): string | undefined => (data ? BIND_DATA[data.toLowerCase()] : undefined);

/** AD's diagnostic message split into its code, its readable reason and a bind sub-code. */
export function parseDiagnostic(text: string): { adCode?: string; reason: string; bindData?: string } {
  let rest = text.replace(/\s+Code: 0x[0-9a-f]+$/i, '').trim();
  // Samba appends where in its source the error was raised.
  rest = rest.replace(/\s+at \.\.\/\S+:\d+$/, '');
  const coded = /^([0-9A-Fa-f]{8}):\s*([\s\S]*)$/.exec(rest);
  const adCode = coded?.[1]?.toUpperCase();
  if (coded) rest = coded[2]!;
  const bindData = /\bdata ([0-9a-f]{3,8})\b/i.exec(rest)?.[1]?.toLowerCase();
  let reason: string;
  if (/AcceptSecurityContext|LdapErr:/.test(rest) && bindData) {
    reason = bindFailureText(bindData) ?? `bind refused (data ${bindData})`;
  } else if (/\bDSID-[0-9A-F]+/i.test(rest) && adCode && WIN32[adCode]) {
    // Windows: "SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0" says nothing to a person.
    reason = WIN32[adCode]!;
  } else {
    // Samba: "Constraint violation - check_password_restrictions: the password is too short. …"
    reason = rest.replace(/^[A-Za-z][A-Za-z ]+ - /, '').replace(/^[a-z_]+: /, '').trim();
    if (reason === '' && adCode && WIN32[adCode]) reason = WIN32[adCode]!;
  }
  return { ...(adCode ? { adCode } : {}), reason, ...(bindData ? { bindData } : {}) };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EPIPE', 'EAI_AGAIN']);
/** Certificate and handshake failures: retrying will not help until someone fixes the trust or the URL. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|EPROTO$|HOSTNAME_MISMATCH|ERR_OSSL)/;

/** LDAP result codes by kind; anything else is a bad request. */
const TRANSIENT_RESULTS = new Set([3 /* timeLimitExceeded */, 51 /* busy */, 52 /* unavailable */, 80 /* other */, 1 /* operationsError */]);
const RESULT_KIND: Record<number, SyncErrorKind> = {
  32: 'not_found',
  20: 'conflict',
  68: 'conflict',
  7: 'stop',
  8: 'stop',
  13: 'stop',
  48: 'stop',
  49: 'stop',
};

/**
 * Any failure of an LDAP call as an AdError: the peer's result code decides the kind, network
 * trouble is transient, TLS trouble stops the run. `what` names the call ("modify CN=…").
 */
export function toAdError(e: unknown, what: string): AdError {
  if (e instanceof AdError) return e;
  if (e instanceof ResultCodeError) {
    const { adCode, reason, bindData } = parseDiagnostic(e.message);
    const kind: SyncErrorKind = RESULT_KIND[e.code] ?? (TRANSIENT_RESULTS.has(e.code) ? 'transient' : 'bad_request');
    let text = reason || e.name.replace(/Error$/, '');
    if (e.code === 49) text = `the directory refused the credentials: ${bindFailureText(bindData) ?? reason ?? 'invalid credentials'}`;
    if (e.code === 8 || e.code === 13) text = `the directory requires an encrypted or signed connection (${reason || e.name})`;
    const message = `${what}: ${text}${adCode ? ` (${adCode})` : ''} [LDAP ${e.code}]`;
    return new AdError(kind, message, e.code, adCode, reason || undefined, bindData);
  }
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && NETWORK_CODES.has(code)) return new AdError('transient', `${what}: ${e.message}`);
    if (code === 'ENOTFOUND') return new AdError('stop', `${what}: the host name does not resolve (${e.message})`);
    if ((code && TLS_CODE.test(code)) || /certificate|SSL routines|TLS/i.test(e.message)) {
      return new AdError('stop', `${what}: TLS failed — ${e.message} (is the CA right, and does the certificate name the host?)`);
    }
    // ldapts's own: "Connection timeout", "…: Operation timed out", "Connection closed before …", "Socket error …".
    return new AdError('transient', `${what}: ${e.message.split('\n').join(' ')}`);
  }
  return new AdError('transient', `${what}: ${String(e)}`);
}
