/** userAccountControl flags ([MS-ADTS] 2.2.16). */
export const UAC = {
  SCRIPT: 0x1,
  ACCOUNTDISABLE: 0x2,
  HOMEDIR_REQUIRED: 0x8,
  LOCKOUT: 0x10,
  PASSWD_NOTREQD: 0x20,
  PASSWD_CANT_CHANGE: 0x40,
  ENCRYPTED_TEXT_PWD_ALLOWED: 0x80,
  TEMP_DUPLICATE_ACCOUNT: 0x100,
  NORMAL_ACCOUNT: 0x200,
  INTERDOMAIN_TRUST_ACCOUNT: 0x800,
  WORKSTATION_TRUST_ACCOUNT: 0x1000,
  SERVER_TRUST_ACCOUNT: 0x2000,
  DONT_EXPIRE_PASSWORD: 0x10000,
  MNS_LOGON_ACCOUNT: 0x20000,
  SMARTCARD_REQUIRED: 0x40000,
  TRUSTED_FOR_DELEGATION: 0x80000,
  NOT_DELEGATED: 0x100000,
  USE_DES_KEY_ONLY: 0x200000,
  DONT_REQ_PREAUTH: 0x400000,
  PASSWORD_EXPIRED: 0x800000,
  TRUSTED_TO_AUTH_FOR_DELEGATION: 0x1000000,
  PARTIAL_SECRETS_ACCOUNT: 0x4000000,
} as const;

/** groupType flags ([MS-ADTS] 2.2.12); a security group has the sign bit set, so the attribute reads negative. */
export const GROUP_TYPE = {
  BUILTIN_LOCAL: 0x1,
  GLOBAL: 0x2,
  DOMAIN_LOCAL: 0x4,
  UNIVERSAL: 0x8,
  APP_BASIC: 0x10,
  APP_QUERY: 0x20,
  SECURITY: 0x80000000,
} as const;

/** A global security group, AD's default: -2147483646 as AD writes it. */
export const GLOBAL_SECURITY_GROUP = (GROUP_TYPE.GLOBAL | GROUP_TYPE.SECURITY) | 0;

/** Well-known relative identifiers of privileged principals ([MS-DTYP] 2.4.2.4). */
export const PRIVILEGED_RID = {
  ADMINISTRATOR: 500,
  DOMAIN_ADMINS: 512,
  SCHEMA_ADMINS: 518,
  ENTERPRISE_ADMINS: 519,
} as const;

/** BUILTIN\Administrators. */
export const BUILTIN_ADMINISTRATORS_SID = 'S-1-5-32-544';

/** userAccountControl as a number (0 when absent or not a number). */
export function uacOf(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) ? n >>> 0 : 0;
}

export const isDisabled = (uac: number): boolean => (uac & UAC.ACCOUNTDISABLE) !== 0;

/** uac with `flag` set or cleared, the other bits kept. */
export const withFlag = (uac: number, flag: number, on: boolean): number => (on ? uac | flag : uac & ~flag) >>> 0;
