import { constants, createCipheriv, publicEncrypt, randomBytes, X509Certificate } from 'node:crypto';
import { ALGORITHMS, NS } from './constants.js';
import { toPemCertificate } from './signature.js';

/** Encrypt an assertion to the SP's certificate (its encryption key from SP metadata). */
export interface AssertionEncryption {
  spCertificate: string;
}

/**
 * Wraps a (signed) assertion in an EncryptedAssertion (SAML core §2.3.4, XML Encryption 1.1):
 * the content under a fresh AES-256-GCM key (IV ‖ ciphertext ‖ 128-bit tag, XML Enc 1.1 §5.2.4),
 * the key under the SP's RSA key with RSA-OAEP (MGF1 with SHA-1, the digest rsa-oaep-mgf1p names).
 */
export function encryptAssertion(assertionXml: string, options: AssertionEncryption): string {
  const publicKey = new X509Certificate(toPemCertificate(options.spCertificate)).publicKey;
  if (publicKey.asymmetricKeyType !== 'rsa') throw new TypeError('The SP encryption certificate must hold an RSA key');
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(assertionXml, 'utf8'), cipher.final()]);
  const cipherValue = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  const wrappedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, key).toString('base64');
  return (
    `<saml:EncryptedAssertion xmlns:saml="${NS.assertion}">` +
    `<xenc:EncryptedData xmlns:xenc="${NS.xenc}" Type="${NS.xenc}Element">` +
    `<xenc:EncryptionMethod Algorithm="${ALGORITHMS.aes256Gcm}"/>` +
    `<ds:KeyInfo xmlns:ds="${NS.dsig}">` +
    `<xenc:EncryptedKey>` +
    `<xenc:EncryptionMethod Algorithm="${ALGORITHMS.rsaOaepMgf1p}"><ds:DigestMethod Algorithm="${ALGORITHMS.sha1}"/></xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrappedKey}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedKey>` +
    `</ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${cipherValue}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedData>` +
    `</saml:EncryptedAssertion>`
  );
}
