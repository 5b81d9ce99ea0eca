import { Type, type TSchema } from 'typebox';

/** A string that may be null, in OpenAPI 3.0's spelling (fast-json-stringify understands it too). */
export const NullableString = (options: Record<string, unknown> = {}) => Type.Unsafe<string | null>({ type: 'string', nullable: true, ...options });

/** A free-form JSON object, kept whole by the serializer. */
export const FreeObject = (options: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true, ...options });

export const ErrorSchema = Type.Object(
  {
    code: Type.Integer({ description: 'HTTP status code' }),
    status: Type.String({ description: 'Status name, e.g. INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS' }),
    message: Type.String(),
    reason: Type.String({ description: 'Roster: stable machine-readable reason, e.g. USERNAME_TAKEN' }),
    details: Type.Optional(
      Type.Array(
        Type.Object({ field: Type.Optional(Type.String()), reason: Type.Optional(Type.String()), message: Type.String() }, { additionalProperties: true }),
      ),
    ),
  },
  { $id: 'Error', additionalProperties: true },
);

const errorRef = Type.Unsafe({ $ref: 'Error#' });

/** The error responses every authenticated route can give. */
export function errorResponses(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const code of [400, 401, 403, ...codes]) out[code] = errorRef;
  return out;
}

export const IdParams = Type.Object({ id: Type.String({ description: 'Object id' }) });

export const ListQuerystring = (extra: Record<string, TSchema> = {}) =>
  Type.Object(
    {
      limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10, description: 'Page size, at most 100' })),
      skip: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Objects to skip' })),
      sort: Type.Optional(Type.String({ description: 'Fields to sort by; prefix - for descending' })),
      fields: Type.Optional(Type.String({ description: 'Fields to return' })),
      filter: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'Filters, field:operator:value' })),
      after: Type.Optional(Type.String({ description: 'Roster: keyset cursor, the id of the last object of the previous page (id order)' })),
      ...extra,
    },
    { additionalProperties: true },
  );

export const GraphRefSchema = Type.Object({ id: Type.String(), type: Type.String(), attributes: Type.Optional(FreeObject()) });

export const GraphConnectionSchema = Type.Object(
  { from: Type.Optional(GraphRefSchema), to: GraphRefSchema, attributes: Type.Optional(FreeObject()) },
  { $id: 'GraphConnection' },
);

export const GraphObjectWithPathsSchema = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    compiledAttributes: Type.Optional(FreeObject()),
    paths: Type.Array(Type.Array(Type.Unsafe({ $ref: 'GraphConnection#' }))),
  },
  { $id: 'GraphObjectWithPaths' },
);

export const toWireRef = (r: { type: string; id: string }) => ({ id: r.id, type: r.type });

/** A graph edge as JumpCloud sends it: `attributes` is an object when present, never null. */
export const toWireEdge = (e: { from: { type: string; id: string }; to: { type: string; id: string }; attributes: Record<string, unknown> | null }) => ({
  from: toWireRef(e.from),
  to: toWireRef(e.to),
  ...(e.attributes ? { attributes: e.attributes } : {}),
});
