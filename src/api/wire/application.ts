import { Type, type Static } from 'typebox';
import type { Application } from '../../core/model.js';
import { APPLICATION_COLORS, redactConfig, type ApplicationInput } from '../../core/services/applications.js';
import type { FieldNames } from '../list-params.js';
import { FreeObject } from './common.js';

export const APPLICATION_FIELDS: FieldNames = {
  _id: 'id',
  id: 'id',
  name: 'name',
  displayName: 'displayName',
  displayLabel: 'displayLabel',
  ssoUrl: 'ssoUrl',
  active: 'active',
  created: 'created',
};

const Color = Type.Union(APPLICATION_COLORS.map((c) => Type.Literal(c)));

/** Every field but the id is optional: `fields=` projects. */
export const ApplicationSchema = Type.Object(
  {
    _id: Type.String(),
    name: Type.Optional(Type.String()),
    displayName: Type.Optional(Type.String()),
    displayLabel: Type.Optional(Type.String()),
    ssoUrl: Type.Optional(Type.String()),
    learnMore: Type.Optional(Type.String()),
    color: Type.Optional(Type.String()),
    logo: Type.Optional(Type.Object({ url: Type.String(), color: Type.String() })),
    active: Type.Optional(Type.Boolean()),
    beta: Type.Optional(Type.Boolean()),
    config: Type.Optional(FreeObject({ description: 'Application configuration; secret values read "[REDACTED]"' })),
    sso: Type.Optional(FreeObject()),
    organization: Type.Optional(Type.String()),
    created: Type.Optional(Type.String()),
  },
  { $id: 'Application' },
);


export const ApplicationWriteSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    displayName: Type.Optional(Type.String({ maxLength: 2048 })),
    displayLabel: Type.Optional(Type.String({ maxLength: 2048 })),
    ssoUrl: Type.Optional(Type.String({ maxLength: 2048 })),
    learnMore: Type.Optional(Type.String({ maxLength: 2048 })),
    color: Type.Optional(Color),
    logo: Type.Optional(Type.Object({ url: Type.Optional(Type.String({ maxLength: 2048 })), color: Type.Optional(Type.String()) }, { additionalProperties: true })),
    active: Type.Optional(Type.Boolean()),
    beta: Type.Optional(Type.Boolean()),
    config: Type.Optional(FreeObject({ description: 'Keys named like privateKey, secret, password or token are sealed with AES-256-GCM and never returned; send "[REDACTED]" to keep a stored secret' })),
    sso: Type.Optional(FreeObject()),
  },
  { additionalProperties: true },
);

export type ApplicationBody = Static<typeof ApplicationWriteSchema>;

export function toApplicationInput(body: ApplicationBody): ApplicationInput {
  const input: ApplicationInput = {};
  for (const key of ['name', 'displayName', 'displayLabel', 'ssoUrl', 'learnMore', 'color', 'active', 'beta', 'config', 'sso'] as const) {
    if (body[key] !== undefined) (input as Record<string, unknown>)[key] = body[key];
  }
  if (body.logo?.url !== undefined) input.logoUrl = body.logo.url;
  return input;
}

export const toApplication = (a: Application) => ({
  _id: a.id,
  name: a.name,
  displayName: a.displayName,
  displayLabel: a.displayLabel,
  ssoUrl: a.ssoUrl,
  learnMore: a.learnMore,
  color: a.color,
  logo: { url: a.logoUrl, color: a.color },
  active: a.active,
  beta: a.beta,
  config: redactConfig(a.config),
  sso: a.sso,
  organization: a.orgId,
  created: a.created,
});
