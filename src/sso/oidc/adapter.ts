import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { DirectoryCore } from '../../core/directory.js';
import type { OidcClientForProvider } from '../../core/services/oidc.js';

/** The client metadata node-oidc-provider validates, from an OIDC application's settings. */
export function clientMetadata(found: OidcClientForProvider): AdapterPayload {
  const { record, settings, secret, application } = found;
  const code = settings.grantTypes.includes('authorization_code');
  return {
    client_id: record.clientId,
    client_name: application.displayName || application.name,
    ...(settings.tokenEndpointAuthMethod !== 'none' && secret ? { client_secret: secret } : {}),
    token_endpoint_auth_method: settings.tokenEndpointAuthMethod,
    grant_types: settings.grantTypes,
    response_types: code ? ['code'] : [],
    redirect_uris: code ? settings.redirectUris : [],
    post_logout_redirect_uris: settings.postLogoutRedirectUris,
  };
}

/** Clients are the OIDC applications: read-only, since dynamic registration is off. */
class ClientAdapter implements Adapter {
  constructor(private readonly core: DirectoryCore) {}
  async find(id: string) {
    const found = await this.core.oidc.clientForProvider(id);
    return found ? clientMetadata(found) : undefined;
  }
  private refuse(): never {
    throw new Error('OIDC clients are managed through the Roster API');
  }
  upsert() {
    return Promise.resolve(this.refuse());
  }
  findByUid() {
    return Promise.resolve(undefined);
  }
  findByUserCode() {
    return Promise.resolve(undefined);
  }
  consume() {
    return Promise.resolve(this.refuse());
  }
  destroy() {
    return Promise.resolve(this.refuse());
  }
  revokeByGrantId() {
    return Promise.resolve(undefined);
  }
}

/**
 * Everything else the provider persists (Session, Interaction, AuthorizationCode, AccessToken,
 * RefreshToken, ClientCredentials, Grant, …) goes to Roster's store, one row per object with its
 * expiry, so every process sharing the store serves the same flows.
 */
class StateAdapter implements Adapter {
  constructor(
    private readonly core: DirectoryCore,
    private readonly model: string,
  ) {}

  private get repo() {
    return this.core.store.read.oidc;
  }

  private static payloadOf(record: { payload: Record<string, unknown>; consumedAt: string | null } | undefined): AdapterPayload | undefined {
    if (!record) return undefined;
    // The provider reads `consumed` as truthy: a consumed code or rotated refresh token is refused (and its grant revoked).
    return record.consumedAt ? { ...record.payload, consumed: Math.floor(Date.parse(record.consumedAt) / 1000) } : (record.payload as AdapterPayload);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    await this.repo.putState({
      model: this.model,
      id,
      payload: payload as Record<string, unknown>,
      grantId: str(payload.grantId),
      userCode: str(payload.userCode),
      uid: str(payload.uid),
      expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000).toISOString() : null,
      consumedAt: null,
    });
  }
  async find(id: string) {
    return StateAdapter.payloadOf(await this.repo.findState(this.model, id, new Date().toISOString()));
  }
  async findByUid(uid: string) {
    return StateAdapter.payloadOf(await this.repo.findStateByUid(this.model, uid, new Date().toISOString()));
  }
  async findByUserCode(userCode: string) {
    return StateAdapter.payloadOf(await this.repo.findStateByUserCode(this.model, userCode, new Date().toISOString()));
  }
  async consume(id: string) {
    await this.repo.consumeState(this.model, id, new Date().toISOString());
  }
  async destroy(id: string) {
    await this.repo.destroyState(this.model, id);
  }
  async revokeByGrantId(grantId: string) {
    await this.repo.revokeGrant(grantId);
  }
}

/** The provider's `adapter` setting: a factory by model name. */
export const adapterFactory = (core: DirectoryCore) => (name: string) => (name === 'Client' ? new ClientAdapter(core) : new StateAdapter(core, name));
