import { Type, type Static } from 'typebox';
import { PASSWORD_EXPIRATION_ACTIONS, RADIUS_MFA_MODES, type RadiusServer } from '../../core/model.js';
import { SHARED_SECRET_LENGTH, type RadiusServerInput } from '../../core/services/radius-servers.js';
import type { FieldNames } from '../list-params.js';

export const RADIUS_SERVER_FIELDS: FieldNames = {
  _id: 'id',
  id: 'id',
  name: 'name',
  mfa: 'mfa',
  userPasswordExpirationAction: 'userPasswordExpirationAction',
  created: 'created',
  updated: 'updated',
};

/** JumpCloud's radiusserver, without `sharedSecret`: Roster never returns it. Every field but the id is optional: `fields=` projects. */
export const RadiusServerSchema = Type.Object(
  {
    _id: Type.String(),
    name: Type.Optional(Type.String()),
    networkSourceIp: Type.Optional(Type.String({ description: 'Client addresses and CIDR ranges, normalized, separated by commas' })),
    organization: Type.Optional(Type.String()),
    mfa: Type.Optional(Type.String({ enum: [...RADIUS_MFA_MODES] })),
    userLockoutAction: Type.Optional(Type.String({ description: 'Always REMOVE: locked users are rejected' })),
    userPasswordExpirationAction: Type.Optional(Type.String({ enum: [...PASSWORD_EXPIRATION_ACTIONS] })),
    tagNames: Type.Optional(Type.Array(Type.String())),
    tags: Type.Optional(Type.Array(Type.String())),
    authIdp: Type.Optional(Type.String({ enum: ['JUMPCLOUD'] })),
    userPasswordEnabled: Type.Optional(Type.Boolean()),
    userCertEnabled: Type.Optional(Type.Boolean({ description: 'EAP-TLS: users may sign in with certificates issued by caCert' })),
    caCert: Type.Optional(Type.String({ description: 'PEM CA certificates for EAP-TLS ("" when none)' })),
    deviceCertEnabled: Type.Optional(Type.Boolean()),
    created: Type.Optional(Type.String({ description: 'Roster: creation time' })),
    updated: Type.Optional(Type.String({ description: 'Roster: time of the last change' })),
  },
  { $id: 'RadiusServer' },
);

const Name = Type.String({ minLength: 1, maxLength: 256 });
const NetworkSourceIp = Type.String({
  minLength: 1,
  maxLength: 8192,
  description:
    'Where Access-Requests come from: an IPv4 or IPv6 address or CIDR range, or several separated by commas. ' +
    'A range must be written with its network address (10.0.0.0/8, not 10.1.2.3/8). No address may belong to two RADIUS servers, in any organization (409 NETWORK_SOURCE_IN_USE).',
});
const SharedSecret = Type.String({
  maxLength: 1024,
  description: `Write-only: ${SHARED_SECRET_LENGTH.min} to ${SHARED_SECRET_LENGTH.max} characters, sealed with AES-256-GCM, never returned by any read and journaled only as changed`,
});

const writeProperties = {
  name: Type.Optional(Name),
  networkSourceIp: Type.Optional(NetworkSourceIp),
  sharedSecret: Type.Optional(SharedSecret),
  mfa: Type.Optional(Type.String({ description: `One of ${RADIUS_MFA_MODES.join(', ')} (default DISABLED). ENABLED: users with a confirmed TOTP must give a code; REQUIRED and ALWAYS: every user must` })),
  userLockoutAction: Type.Optional(Type.String({ description: 'Only REMOVE: locked users are always rejected' })),
  userPasswordExpirationAction: Type.Optional(Type.String({ description: 'REMOVE (default): reject users whose password expired; MAINTAIN: accept them' })),
  tagNames: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })),
  authIdp: Type.Optional(Type.Literal('JUMPCLOUD', { description: 'Users authenticate against Roster; AZURE is not supported' })),
  userPasswordEnabled: Type.Optional(Type.Literal(true, { description: 'Password authentication is always on' })),
  userCertEnabled: Type.Optional(Type.Boolean({ description: 'EAP-TLS: let users sign in with certificates issued by caCert (which it needs)' })),
  caCert: Type.Optional(
    Type.Union([Type.String({ maxLength: 65536 }), Type.Null()], {
      description: 'PEM certificates of the CAs that issue users\' certificates for EAP-TLS; "" or null removes them',
    }),
  ),
  deviceCertEnabled: Type.Optional(Type.Literal(false, { description: 'Certificate authentication of devices is not supported' })),
};

/** POST /radiusservers (JumpCloud's radiusserverpost). */
export const RadiusServerCreateSchema = Type.Object(
  { ...writeProperties, name: Name, networkSourceIp: NetworkSourceIp, sharedSecret: SharedSecret },
  { additionalProperties: true },
);

/** PUT /radiusservers/{id}: only the fields given change; `sharedSecret` (a Roster extension to radiusserverput) replaces the secret. */
export const RadiusServerUpdateSchema = Type.Object(writeProperties, { additionalProperties: true });

export type RadiusServerBody = Static<typeof RadiusServerUpdateSchema>;

export function toRadiusServerInput(body: RadiusServerBody): RadiusServerInput {
  const input: RadiusServerInput = {};
  for (const key of ['name', 'networkSourceIp', 'sharedSecret', 'mfa', 'userLockoutAction', 'userPasswordExpirationAction', 'tagNames', 'userCertEnabled', 'caCert'] as const) {
    if (body[key] !== undefined) (input as Record<string, unknown>)[key] = body[key];
  }
  return input;
}

export const toRadiusServer = (s: RadiusServer) => ({
  _id: s.id,
  name: s.name,
  networkSourceIp: s.networkSourceIps.join(','),
  organization: s.orgId,
  mfa: s.mfa,
  userLockoutAction: 'REMOVE',
  userPasswordExpirationAction: s.userPasswordExpirationAction,
  tagNames: s.tagNames,
  tags: [] as string[],
  authIdp: 'JUMPCLOUD',
  userPasswordEnabled: true,
  userCertEnabled: s.userCertEnabled,
  caCert: s.caCert ?? '',
  deviceCertEnabled: false,
  created: s.created,
  updated: s.updated,
});
