import { verify as verifyBytes, X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { ALGORITHMS, NS } from './constants.js';
import { attributeOf, childElements, isElement, pemBody } from './xml.js';

export interface SigningCredential {
  privateKeyPem: string;
  certificatePem: string;
}

/**
 * Signs the element selected by `elementXPath` with an enveloped RSA-SHA256 signature over its
 * exclusive canonical form. The element must carry an ID attribute. `placement` puts the
 * ds:Signature where the schema wants it: in SAML messages right after the Issuer (SAML core §5.4.1).
 */
export function signEnveloped(
  xml: string,
  elementXPath: string,
  placement: { reference: string; action: 'after' | 'before' },
  credential: SigningCredential,
): string {
  const signer = new SignedXml({
    privateKey: credential.privateKeyPem,
    publicCert: credential.certificatePem,
    signatureAlgorithm: ALGORITHMS.rsaSha256,
    canonicalizationAlgorithm: ALGORITHMS.excC14n,
  });
  signer.addReference({
    xpath: elementXPath,
    transforms: [ALGORITHMS.envelopedSignature, ALGORITHMS.excC14n],
    digestAlgorithm: ALGORITHMS.sha256,
  });
  signer.computeSignature(xml, { prefix: 'ds', location: placement });
  return signer.getSignedXml();
}

/** XPath selecting an element by namespace and local name, for `signEnveloped`. */
export const xpathStep = (ns: string, localName: string) => `*[local-name(.)='${localName}' and namespace-uri(.)='${ns}']`;

/** A PEM certificate from either PEM or the bare base64 DER that SP metadata carries. */
export function toPemCertificate(certificate: string): string {
  const body = pemBody(certificate);
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export type SignatureCheck =
  | { ok: true; signedXml: string; algorithm: string }
  | { ok: false; reason: 'missing' | 'invalid' | 'weak_algorithm'; message: string };

const SIGNATURE_ALGORITHMS: Record<string, 'sha1' | 'sha256' | 'sha512'> = {
  [ALGORITHMS.rsaSha1]: 'sha1',
  [ALGORITHMS.rsaSha256]: 'sha256',
  [ALGORITHMS.rsaSha512]: 'sha512',
};
const DIGEST_ALGORITHMS: Record<string, 'sha1' | 'sha256' | 'sha512'> = {
  [ALGORITHMS.sha1]: 'sha1',
  [ALGORITHMS.sha256]: 'sha256',
  [ALGORITHMS.sha512]: 'sha512',
};
const ALLOWED_TRANSFORMS = new Set<string>([ALGORITHMS.envelopedSignature, ALGORITHMS.excC14n]);

function algorithmOf(parent: Element, localName: string): string | undefined {
  const [el] = childElements(parent, NS.dsig, localName);
  return el ? attributeOf(el, 'Algorithm') : undefined;
}

function countIds(node: Node, id: string): number {
  let count = 0;
  for (let child = node.firstChild; child; child = child.nextSibling) {
    if (!isElement(child)) continue;
    // xml-crypto resolves a reference through any of ID, Id and id, so all three must be unique.
    if (['ID', 'Id', 'id'].some((name) => child.getAttribute(name) === id)) count++;
    count += countIds(child, id);
  }
  return count;
}

/**
 * Verifies the enveloped signature of `element` (a direct ds:Signature child) against any of
 * `certificates`, never a key the message itself carries. Only the SAML profile of XML-DSig is
 * accepted (SAML core §5.4): one Reference to the element's own, document-unique ID, enveloped and
 * exclusive-c14n transforms only. On success `signedXml` is the canonical signed element: read the
 * message from it, not from the original document, so a wrapped or injected copy cannot be used.
 */
export function verifyEnvelopedSignature(
  xml: string,
  document: Document,
  element: Element,
  certificates: readonly string[],
  options: { allowSha1?: boolean } = {},
): SignatureCheck {
  const signatures = childElements(element, NS.dsig, 'Signature');
  if (signatures.length === 0) return { ok: false, reason: 'missing', message: 'The message is not signed' };
  const invalid = (message: string): SignatureCheck => ({ ok: false, reason: 'invalid', message });
  if (signatures.length > 1) return invalid('The message carries more than one signature');
  const signature = signatures[0]!;
  const [signedInfo] = childElements(signature, NS.dsig, 'SignedInfo');
  if (!signedInfo) return invalid('The signature has no SignedInfo');

  const algorithm = algorithmOf(signedInfo, 'SignatureMethod') ?? '';
  const hash = SIGNATURE_ALGORITHMS[algorithm];
  if (!hash) return invalid(`Unsupported signature algorithm ${algorithm}`);
  if (hash === 'sha1' && !options.allowSha1) return { ok: false, reason: 'weak_algorithm', message: 'RSA-SHA1 signatures are not accepted' };
  if (algorithmOf(signedInfo, 'CanonicalizationMethod') !== ALGORITHMS.excC14n) return invalid('The signature must use exclusive canonicalization');

  const references = childElements(signedInfo, NS.dsig, 'Reference');
  if (references.length !== 1) return invalid('The signature must have exactly one Reference');
  const reference = references[0]!;
  const id = attributeOf(element, 'ID');
  if (!id || attributeOf(reference, 'URI') !== `#${id}`) return invalid('The signature does not reference the signed message');
  if (countIds(document, id) !== 1) return invalid('The signed ID is not unique in the document');
  const digest = DIGEST_ALGORITHMS[algorithmOf(reference, 'DigestMethod') ?? ''];
  if (!digest) return invalid('Unsupported digest algorithm');
  if (digest === 'sha1' && !options.allowSha1) return { ok: false, reason: 'weak_algorithm', message: 'SHA-1 digests are not accepted' };
  const [transformList] = childElements(reference, NS.dsig, 'Transforms');
  const transforms = transformList ? childElements(transformList, NS.dsig, 'Transform') : [];
  if (transforms.length > 2 || transforms.some((t) => !ALLOWED_TRANSFORMS.has(attributeOf(t, 'Algorithm') ?? ''))) {
    return invalid('The signature uses transforms other than enveloped-signature and exclusive c14n');
  }

  for (const certificate of certificates) {
    const verifier = new SignedXml({ publicCert: toPemCertificate(certificate), getCertFromKeyInfo: () => null });
    try {
      verifier.loadSignature(signature);
      if (verifier.checkSignature(xml)) {
        const [signedXml] = verifier.getSignedReferences();
        if (signedXml) return { ok: true, signedXml, algorithm };
      }
    } catch {
      // A malformed signature or a certificate that does not match: try the next certificate.
    }
  }
  return invalid('The signature does not verify with any registered certificate');
}

/**
 * Verifies an HTTP-Redirect binding signature (SAML bindings §3.4.4.1): `signedOctets` are the
 * query parameters exactly as received, not re-encoded.
 */
export function verifyDetachedSignature(
  signedOctets: Buffer,
  signature: Buffer,
  sigAlg: string,
  certificates: readonly string[],
  options: { allowSha1?: boolean } = {},
): { ok: true } | { ok: false; reason: 'invalid' | 'weak_algorithm'; message: string } {
  const hash = SIGNATURE_ALGORITHMS[sigAlg];
  if (!hash) return { ok: false, reason: 'invalid', message: `Unsupported SigAlg ${sigAlg}` };
  if (hash === 'sha1' && !options.allowSha1) return { ok: false, reason: 'weak_algorithm', message: 'RSA-SHA1 signatures are not accepted' };
  for (const certificate of certificates) {
    try {
      const key = new X509Certificate(toPemCertificate(certificate)).publicKey;
      if (verifyBytes(hash, signedOctets, key, signature)) return { ok: true };
    } catch {
      // An unreadable certificate: try the next one.
    }
  }
  return { ok: false, reason: 'invalid', message: 'The signature does not verify with any registered certificate' };
}
