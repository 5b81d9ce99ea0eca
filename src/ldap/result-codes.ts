/** LDAP result codes (RFC 4511 §4.1.9 and Appendix A). */
export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  other: 80,
} as const;

export type ResultCodeValue = (typeof ResultCode)[keyof typeof ResultCode];

/** A failed operation as the client will see it. */
export class LdapResultError extends Error {
  constructor(
    readonly code: ResultCodeValue,
    message: string,
    readonly matchedDn = '',
  ) {
    super(message);
  }
}

export const ldapError = (code: ResultCodeValue, message: string, matchedDn = '') => new LdapResultError(code, message, matchedDn);
