import { Type, type Static } from 'typebox';
import type { Administrator } from '../../core/model.js';
import { ROLE_NAMES } from '../../core/roles.js';
import type { FieldNames } from '../list-params.js';

export const ADMIN_FIELDS: FieldNames = {
  _id: 'id',
  id: 'id',
  email: 'email',
  firstname: 'firstname',
  lastname: 'lastname',
  roleName: 'roleName',
  suspended: 'suspended',
  created: 'created',
};

const RoleName = Type.Union(ROLE_NAMES.map((r) => Type.Literal(r)));

/** JumpCloud's userreturn: an administrator, not a directory user. */
/** Every field but the id is optional: `fields=` projects. */
export const AdministratorSchema = Type.Object(
  {
    _id: Type.String(),
    email: Type.Optional(Type.String()),
    firstname: Type.Optional(Type.String()),
    lastname: Type.Optional(Type.String()),
    role: Type.Optional(Type.String({ description: 'The role name (JumpCloud returns a role id here)' })),
    roleName: Type.Optional(Type.String()),
    enableMultiFactor: Type.Optional(Type.Boolean()),
    totpEnrolled: Type.Optional(Type.Boolean()),
    suspended: Type.Optional(Type.Boolean()),
    organization: Type.Optional(Type.String()),
    organizations: Type.Optional(Type.Array(Type.String(), { description: 'Roster: every organization this administrator manages' })),
    created: Type.Optional(Type.String()),
  },
  { $id: 'Administrator' },
);


export const AdministratorWriteSchema = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 254 })),
    firstname: Type.Optional(Type.String({ maxLength: 1024 })),
    lastname: Type.Optional(Type.String({ maxLength: 1024 })),
    roleName: Type.Optional(RoleName),
    enableMultiFactor: Type.Optional(Type.Boolean()),
    suspended: Type.Optional(Type.Boolean({ description: 'Roster: a suspended administrator\'s API keys stop working' })),
    password: Type.Optional(Type.String({ maxLength: 256, description: 'Roster: password for the admin portal' })),
  },
  { additionalProperties: true },
);

export const AdministratorCreateSchema = Type.Object(
  { ...AdministratorWriteSchema.properties, email: Type.String({ maxLength: 254 }), roleName: RoleName },
  { additionalProperties: true },
);

export type AdministratorBody = Static<typeof AdministratorWriteSchema>;

export const toAdministrator = (a: Administrator, orgId: string) => ({
  _id: a.id,
  email: a.email,
  firstname: a.firstname,
  lastname: a.lastname,
  role: a.roleName,
  roleName: a.roleName,
  enableMultiFactor: a.enableMultiFactor,
  totpEnrolled: a.totpEnrolled === true,
  suspended: a.suspended,
  organization: orgId,
  organizations: a.orgIds,
  created: a.created,
});
