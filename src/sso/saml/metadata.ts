import { BINDINGS, NAME_ID_FORMATS, NS, type NameIdFormat } from './constants.js';
import { signEnveloped, xpathStep, type SigningCredential } from './signature.js';
import { escapeXml, instant, newSamlId, pemBody } from './xml.js';

export interface IdpMetadataInput {
  entityId: string;
  /** Signing certificates (PEM), current first; publish the next one beside it before a rotation. */
  certificates: string[];
  ssoUrls: { redirect: string; post: string };
  nameIdFormats?: NameIdFormat[];
  wantAuthnRequestsSigned?: boolean;
  validUntil?: Date;
  /** Sign the metadata document with this credential. */
  sign?: SigningCredential;
}

/** IdP metadata (SAML metadata §2.4.3): an EntityDescriptor with one IDPSSODescriptor. */
export function buildIdpMetadata(input: IdpMetadataInput): string {
  if (input.certificates.length === 0) throw new TypeError('At least one signing certificate is required');
  const formats = input.nameIdFormats ?? (['emailAddress', 'persistent', 'unspecified'] as const);
  const validUntil = input.validUntil ? ` validUntil="${instant(input.validUntil)}"` : '';
  const keys = input.certificates.map(
    (cert) =>
      `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${pemBody(cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
  );
  const xml =
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" ID="${newSamlId()}" entityID="${escapeXml(input.entityId)}"${validUntil}>` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="${input.wantAuthnRequestsSigned ? 'true' : 'false'}" protocolSupportEnumeration="${NS.protocol}">` +
    keys.join('') +
    formats.map((f) => `<md:NameIDFormat>${NAME_ID_FORMATS[f]}</md:NameIDFormat>`).join('') +
    `<md:SingleSignOnService Binding="${BINDINGS.redirect}" Location="${escapeXml(input.ssoUrls.redirect)}"/>` +
    `<md:SingleSignOnService Binding="${BINDINGS.post}" Location="${escapeXml(input.ssoUrls.post)}"/>` +
    `</md:IDPSSODescriptor>` +
    `</md:EntityDescriptor>`;
  if (!input.sign) return xml;
  const root = `/${xpathStep(NS.metadata, 'EntityDescriptor')}`;
  // The schema puts ds:Signature first in EntityDescriptor, before any role descriptor.
  return signEnveloped(xml, root, { reference: `${root}/${xpathStep(NS.metadata, 'IDPSSODescriptor')}`, action: 'before' }, input.sign);
}
