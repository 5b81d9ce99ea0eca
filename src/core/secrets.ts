import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { DirectoryError } from './errors.js';

const PREFIX = 'enc:v1:';

/**
 * AES-256-GCM for secrets at rest (connector credentials, tokens, private keys). Each sealed value
 * names the key that sealed it, so a master key can be rotated by adding a new one; the associated
 * data binds a value to the row and field it belongs to, so ciphertexts cannot be swapped between rows.
 */
export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    keys: ReadonlyMap<string, Buffer>,
    private readonly currentKeyId: string,
  ) {
    for (const [id, key] of keys) {
      if (key.length !== 32) throw new Error(`master key ${id} must be 32 bytes`);
      if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`master key id "${id}" must be alphanumeric`);
    }
    if (!keys.has(currentKeyId)) throw new Error(`no master key named ${currentKeyId}`);
    this.keys = keys;
  }

  /** A box with one key whose id derives from the key, so each key has a stable name. */
  static fromKey(key: Buffer): SecretBox {
    const id = createHash('sha256').update(key).digest('hex').slice(0, 8);
    return new SecretBox(new Map([[id, key]]), id);
  }

  static isSealed(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  seal(plaintext: string, associatedData: string): string {
    const key = this.keys.get(this.currentKeyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    return `${PREFIX}${this.currentKeyId}:${sealed}`;
  }

  open(sealed: string, associatedData: string): string {
    const fail = () =>
      new DirectoryError('unavailable', 'SECRET_UNREADABLE', 'A stored secret cannot be decrypted with the master key');
    if (!SecretBox.isSealed(sealed)) throw fail();
    const rest = sealed.slice(PREFIX.length);
    const colon = rest.indexOf(':');
    const key = this.keys.get(rest.slice(0, colon));
    if (colon < 0 || !key) throw fail();
    const raw = Buffer.from(rest.slice(colon + 1), 'base64url');
    if (raw.length < 28) throw fail();
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw fail();
    }
  }
}

/** API keys and SCIM bearer tokens: 256 random bits after a prefix, shown once; only the SHA-256 digest is stored. */
export const API_KEY_PREFIX = 'rst_';
export const SCIM_TOKEN_PREFIX = 'rsc_';

export function newBearerSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export const newApiKeySecret = (): string => newBearerSecret(API_KEY_PREFIX);

export function digestSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A random password with upper, lower, digits and separators (so it has a symbol): 24 characters
 * in groups of 8, or more when `minLength` asks for it.
 */
export function randomPassword(minLength = 0): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const length = Math.max(24, minLength);
  for (;;) {
    const chars = Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
    const candidate = chars.match(/.{1,8}/g)!.join('-');
    if (/[a-z]/.test(candidate) && /[A-Z]/.test(candidate) && /\d/.test(candidate)) return candidate;
  }
}
