import { Type, type Static } from 'typebox';
import type { UserGroup } from '../../core/model.js';
import type { FieldNames } from '../list-params.js';
import { FreeObject } from './common.js';

export const GROUP_FIELDS: FieldNames = {
  id: 'id',
  _id: 'id',
  name: 'name',
  description: 'description',
  email: 'email',
  created: 'created',
  updated: 'updated',
};

/** JumpCloud's UserGroup. */
export const UserGroupSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.Optional(Type.String()),
    type: Type.Optional(Type.Literal('user_group')),
    description: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
    attributes: Type.Optional(FreeObject({ description: 'Group attributes: posixGroups, sudo, radius, ldapGroups …' })),
    membershipMethod: Type.Optional(Type.String()),
    created: Type.Optional(Type.String({ description: 'Roster: creation time' })),
    updated: Type.Optional(Type.String({ description: 'Roster: time of the last change' })),
  },
  { $id: 'UserGroup' },
);

export const UserGroupWriteSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    email: Type.Optional(Type.String({ maxLength: 1024 })),
    attributes: Type.Optional(FreeObject()),
  },
  { additionalProperties: true },
);

export type UserGroupBody = Static<typeof UserGroupWriteSchema>;

export const toUserGroup = (g: UserGroup) => ({
  id: g.id,
  name: g.name,
  type: 'user_group' as const,
  description: g.description,
  email: g.email,
  attributes: g.attributes,
  membershipMethod: g.membershipMethod,
  created: g.created,
  updated: g.updated,
});

export const toGroupInput = (body: Partial<UserGroupBody>) => ({
  ...(body.name !== undefined ? { name: body.name } : {}),
  ...(body.description !== undefined ? { description: body.description } : {}),
  ...(body.email !== undefined ? { email: body.email } : {}),
  ...(body.attributes !== undefined ? { attributes: body.attributes } : {}),
});
