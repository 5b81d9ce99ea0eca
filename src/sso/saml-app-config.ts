import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { ErrorDetail } from '../core/errors.js';
import { REDACTED } from '../core/journal.js';
import type { Application, User } from '../core/model.js';
import { NAME_ID_FORMATS, toPemCertificate, type NameIdFormat, type SigningCredential } from './saml/index.js';

/**
 * An application's SAML settings, read from its `config`. JumpCloud's keys, each holding
 * `{ "value": … }` (a bare value is accepted too): `idpEntityId`, `spEntityId`, `acsUrl`,
 * `idpCertificate`, `idpPrivateKey`, `constantAttributes`. Roster's extensions, the same way:
 * `additionalAcsUrls`, `requireSignedAuthnRequests`, `spCertificates`, `allowSha1Signatures`,
 * `nameIdFormat`, `userAttributes`, `groupsAttribute`, `signAssertion`, `signResponse`,
 * `encryptAssertion`, `spEncryptionCertificate`, and the ones Roster fills in itself:
 * `idpNextCertificate` / `idpNextPrivateKey` (a rotation in progress) and `persistentNameIdSecret`.
 */
export interface SamlAppSettings {
  idpEntityId: string;
  spEntityId: string;
  /** `acsUrl` first, then `additionalAcsUrls`. */
  acsUrls: string[];
  requireSignedAuthnRequests: boolean;
  spCertificates: string[];
  allowSha1Signatures: boolean;
  nameIdFormat: NameIdFormat;
  userAttributes: { name: string; field: string }[];
  /** The attribute carrying the user's group names; '' leaves it out. */
  groupsAttribute: string;
  constantAttributes: { name: string; value: string }[];
  signAssertion: boolean;
  signResponse: boolean;
  /** The SP certificate assertions are encrypted to; absent: not encrypted. */
  encryptTo: string | undefined;
  /** The key that signs, and the certificate published for it. */
  credential: SigningCredential | undefined;
  /** The next key's certificate, published beside the current one during a rotation. */
  nextCertificate: string | undefined;
  nextPrivateKey: string | undefined;
  persistentNameIdSecret: string | undefined;
}

export const isSamlApplication = (app: Pick<Application, 'sso'>): boolean =>
  typeof app.sso?.type === 'string' && app.sso.type.toLowerCase() === 'saml';

/** User fields an attribute can carry; `attributes.<name>` picks a custom attribute. */
export const USER_ATTRIBUTE_FIELDS = [
  'id',
  'username',
  'email',
  'firstname',
  'middlename',
  'lastname',
  'displayname',
  'employeeIdentifier',
  'employeeType',
  'jobTitle',
  'department',
  'company',
  'costCenter',
  'location',
  'alternateEmail',
  'description',
  'unixUid',
  'unixGuid',
] as const;

export const DEFAULT_USER_ATTRIBUTES = [
  { name: 'email', field: 'email' },
  { name: 'username', field: 'username' },
  { name: 'firstName', field: 'firstname' },
  { name: 'lastName', field: 'lastname' },
];

const MAX_URL = 1024;
const MAX_NAME = 256;
const MAX_LIST = 20;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A config entry's value: JumpCloud's `{ value }` wrapper or the bare value. */
export function configValue(config: Json, key: string): unknown {
  const entry = config[key];
  return isObject(entry) && 'value' in entry ? entry.value : entry;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** SAML profiles §4.1.4.5 asks for TLS at the ACS; http is allowed only to this machine (testing). */
function checkAcsUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'must be a URL';
  if (value.length > MAX_URL) return `must be at most ${MAX_URL} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an absolute URL`;
  }
  if (url.hash) return `"${value}" must not have a fragment`;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return `"${value}" must use https (http only to localhost)`;
  return undefined;
}

function checkCertificate(value: string): string | undefined {
  try {
    new X509Certificate(toPemCertificate(value));
    return undefined;
  } catch {
    return 'is not an X.509 certificate (PEM or base64 DER)';
  }
}

/** The certificate holds the public half of the private key. */
export function keyMatchesCertificate(privateKeyPem: string, certificatePem: string): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' });
    const fromCert = new X509Certificate(toPemCertificate(certificatePem)).publicKey.export({ type: 'spki', format: 'der' });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}

const NAME_ID_BY_URN = new Map<string, NameIdFormat>(Object.entries(NAME_ID_FORMATS).map(([name, urn]) => [urn, name as NameIdFormat]));

/**
 * Reads and checks the SAML keys of an application's config. Secrets may still read "[REDACTED]"
 * (an API write keeping a stored secret), and the IdP key may be missing (Roster makes one): both
 * are left for `missingForLogin`. Every problem is reported, none thrown.
 */
export function readSamlConfig(config: Json): { settings: SamlAppSettings; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string) => errors.push({ field: `config.${field}`, reason: 'INVALID', message: `config.${field} ${message}` });
  const value = (key: string) => configValue(config, key);

  const text = (key: string, { required = false, max = MAX_URL } = {}): string => {
    const v = value(key);
    if (v === undefined || v === null || v === '') {
      if (required) fail(key, 'is required for a SAML application');
      return '';
    }
    if (typeof v !== 'string') return (fail(key, 'must be a string'), '');
    if (v.length > max) return (fail(key, `must be at most ${max} characters`), '');
    return v.trim();
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = value(key);
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    return (fail(key, 'must be true or false'), fallback);
  };
  const list = (key: string): unknown[] => {
    const v = value(key);
    if (v === undefined || v === null || v === '') return [];
    const items = Array.isArray(v) ? v : [v];
    if (items.length > MAX_LIST) return (fail(key, `must have at most ${MAX_LIST} entries`), []);
    return items;
  };
  const secret = (key: string): string | undefined => {
    const v = value(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return (fail(key, 'must be a string'), undefined);
    return v;
  };

  const spEntityId = text('spEntityId', { required: true });
  const acsUrls: string[] = [];
  const acs = value('acsUrl');
  if (acs === undefined || acs === null || acs === '') fail('acsUrl', 'is required for a SAML application');
  else {
    const problem = checkAcsUrl(acs);
    if (problem) fail('acsUrl', problem);
    else acsUrls.push(acs as string);
  }
  for (const extra of list('additionalAcsUrls')) {
    const problem = checkAcsUrl(extra);
    if (problem) fail('additionalAcsUrls', problem);
    else if (!acsUrls.includes(extra as string)) acsUrls.push(extra as string);
  }

  const certificates = (key: string): string[] => {
    const out: string[] = [];
    for (const c of list(key)) {
      if (typeof c !== 'string' || c.trim() === '') fail(key, 'must hold certificates (PEM or base64 DER)');
      else {
        const problem = checkCertificate(c);
        if (problem) fail(key, problem);
        else out.push(toPemCertificate(c));
      }
    }
    return out;
  };
  const spCertificates = certificates('spCertificates');
  const [spEncryptionCertificate] = certificates('spEncryptionCertificate');
  const requireSignedAuthnRequests = flag('requireSignedAuthnRequests', false);
  if (requireSignedAuthnRequests && spCertificates.length === 0) fail('spCertificates', 'must hold the SP certificate when requireSignedAuthnRequests is true');
  const encryptAssertion = flag('encryptAssertion', false);
  const encryptTo = encryptAssertion ? (spEncryptionCertificate ?? spCertificates[0]) : undefined;
  if (encryptAssertion && !encryptTo) fail('encryptAssertion', 'needs the SP certificate in spEncryptionCertificate or spCertificates');
  if (encryptTo && new X509Certificate(encryptTo).publicKey.asymmetricKeyType !== 'rsa') fail('spEncryptionCertificate', 'must hold an RSA key to encrypt to');

  let nameIdFormat: NameIdFormat = 'emailAddress';
  const format = value('nameIdFormat');
  if (format !== undefined && format !== null && format !== '') {
    const named = typeof format === 'string' ? (Object.hasOwn(NAME_ID_FORMATS, format) ? (format as NameIdFormat) : NAME_ID_BY_URN.get(format)) : undefined;
    if (named) nameIdFormat = named;
    else fail('nameIdFormat', `must be one of ${Object.keys(NAME_ID_FORMATS).join(', ')}`);
  }

  const named = (key: string, item: unknown): Json | undefined => {
    if (!isObject(item) || typeof item.name !== 'string' || item.name.trim() === '' || item.name.length > MAX_NAME) {
      return (fail(key, `entries need a name of 1 to ${MAX_NAME} characters`), undefined);
    }
    return item;
  };
  let userAttributes = DEFAULT_USER_ATTRIBUTES;
  if (value('userAttributes') !== undefined && value('userAttributes') !== null) {
    userAttributes = [];
    for (const item of list('userAttributes')) {
      const entry = named('userAttributes', item);
      if (!entry) continue;
      const field = entry.field;
      if (typeof field !== 'string' || !((USER_ATTRIBUTE_FIELDS as readonly string[]).includes(field) || /^attributes\.[^.]{1,256}$/.test(field))) {
        fail('userAttributes', `field of "${String(entry.name)}" must be one of ${USER_ATTRIBUTE_FIELDS.join(', ')} or attributes.<custom attribute>`);
      } else userAttributes.push({ name: (entry.name as string).trim(), field });
    }
  }
  const constantAttributes: { name: string; value: string }[] = [];
  for (const item of list('constantAttributes')) {
    const entry = named('constantAttributes', item);
    if (!entry) continue;
    if (typeof entry.value !== 'string' || entry.value.length > 2048) fail('constantAttributes', `value of "${String(entry.name)}" must be a string of at most 2048 characters`);
    else constantAttributes.push({ name: (entry.name as string).trim(), value: entry.value });
  }
  const groupsRaw = value('groupsAttribute');
  const groupsAttribute = groupsRaw === undefined || groupsRaw === null ? 'groups' : text('groupsAttribute', { max: MAX_NAME });

  const signAssertion = flag('signAssertion', true);
  const signResponse = flag('signResponse', false);
  if (!signAssertion && !signResponse) fail('signAssertion', 'or config.signResponse must be true: Roster never sends an unsigned assertion');

  const pair = (certKey: string, keyKey: string) => {
    const certificate = text(certKey, { max: 16_384 });
    const privateKey = secret(keyKey);
    if (certificate && checkCertificate(certificate)) fail(certKey, checkCertificate(certificate)!);
    if (privateKey && !certificate) fail(certKey, `is required with config.${keyKey}`);
    if (certificate && !privateKey) fail(keyKey, `is required with config.${certKey} (send "[REDACTED]" to keep the stored key, or leave both out and Roster makes a key pair)`);
    if (privateKey && privateKey !== REDACTED && certificate && !keyMatchesCertificate(privateKey, certificate)) {
      fail(keyKey, `must be the PEM private key of the certificate in config.${certKey}`);
    }
    return { certificate: certificate || undefined, privateKey };
  };
  const current = pair('idpCertificate', 'idpPrivateKey');
  const next = pair('idpNextCertificate', 'idpNextPrivateKey');
  const persistentNameIdSecret = secret('persistentNameIdSecret');
  if (persistentNameIdSecret && persistentNameIdSecret !== REDACTED && persistentNameIdSecret.length < 16) fail('persistentNameIdSecret', 'must be at least 16 characters');

  return {
    settings: {
      idpEntityId: text('idpEntityId'),
      spEntityId,
      acsUrls,
      requireSignedAuthnRequests,
      spCertificates,
      allowSha1Signatures: flag('allowSha1Signatures', false),
      nameIdFormat,
      userAttributes,
      groupsAttribute,
      constantAttributes,
      signAssertion,
      signResponse,
      encryptTo,
      credential: current.certificate && current.privateKey ? { certificatePem: toPemCertificate(current.certificate), privateKeyPem: current.privateKey } : undefined,
      nextCertificate: next.certificate ? toPemCertificate(next.certificate) : undefined,
      nextPrivateKey: next.privateKey,
      persistentNameIdSecret,
    },
    errors,
  };
}

/** What Roster must still fill in before the application can sign anyone in (see SamlApplications.complete). */
export function missingForLogin(settings: SamlAppSettings): ('idpKey' | 'idpEntityId' | 'persistentNameIdSecret')[] {
  const missing: ('idpKey' | 'idpEntityId' | 'persistentNameIdSecret')[] = [];
  if (!settings.credential) missing.push('idpKey');
  if (!settings.idpEntityId) missing.push('idpEntityId');
  if (!settings.persistentNameIdSecret) missing.push('persistentNameIdSecret');
  return missing;
}

function fieldValue(user: User, field: string): string[] {
  if (field.startsWith('attributes.')) {
    const name = field.slice('attributes.'.length);
    return user.attributes.filter((a) => a.name === name && a.value !== '').map((a) => a.value);
  }
  const v = (user as unknown as Record<string, unknown>)[field];
  if (v === null || v === undefined || v === '') return [];
  return [String(v)];
}

/**
 * The attribute statement for a user: mapped user fields (empty ones left out), the group names,
 * then the constant attributes. Several sources naming one attribute give it several values.
 */
export function userAttributeValues(settings: SamlAppSettings, user: User, groupNames: readonly string[]): Record<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (name: string, values: readonly string[]) => {
    if (values.length === 0) return;
    const list = out.get(name) ?? [];
    out.set(name, list);
    for (const v of values) if (!list.includes(v)) list.push(v);
  };
  for (const { name, field } of settings.userAttributes) add(name, fieldValue(user, field));
  if (settings.groupsAttribute) add(settings.groupsAttribute, [...groupNames].sort((a, b) => a.localeCompare(b)));
  for (const { name, value } of settings.constantAttributes) add(name, [value]);
  return Object.fromEntries(out);
}
