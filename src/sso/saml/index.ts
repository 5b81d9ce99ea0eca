export * from './constants.js';
export {
  AuthnRequestError,
  decodeAuthnRequest,
  parseAuthnRequestXml,
  readAuthnRequest,
  validateAuthnRequest,
  DEFAULT_CLOCK_SKEW_MS,
  type AuthnRequest,
  type AuthnRequestErrorCode,
  type AuthnRequestResult,
  type DecodedAuthnRequest,
  type DecodeLimits,
  type PostBindingMessage,
  type RedirectBindingMessage,
  type ServiceProviderConfig,
  type ValidatedAuthnRequest,
  type ValidateOptions,
} from './authn-request.js';
export { encryptAssertion, type AssertionEncryption } from './encryption.js';
export { certificateFingerprint, fingerprintsEqual, generateSigningKeyPair, type SigningKeyOptions, type SigningKeyPair } from './keys.js';
export { buildIdpMetadata, type IdpMetadataInput } from './metadata.js';
export { renderPostForm, type PostFormInput } from './post-form.js';
export { ReplayCache, type ReplayCacheOptions } from './replay-cache.js';
export {
  buildSamlResponse,
  persistentNameId,
  SamlResponseError,
  type AttributeValues,
  type BuildResponseInput,
  type BuiltResponse,
  type SamlResponseErrorCode,
  type SamlSubject,
} from './response.js';
export { toPemCertificate, type SigningCredential } from './signature.js';
export { newSamlId } from './xml.js';
