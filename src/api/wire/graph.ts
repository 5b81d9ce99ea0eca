import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import type { Reached } from '../../core/model.js';
import type { ListResult } from '../../core/query.js';
import { toWireEdge } from './common.js';

export const connectionRef = Type.Unsafe({ $ref: 'GraphConnection#' });
export const withPathsRef = Type.Unsafe({ $ref: 'GraphObjectWithPaths#' });


export const toWithPaths = (r: Reached) => ({
  id: r.ref.id,
  type: r.ref.type,
  compiledAttributes: {},
  paths: r.paths.map((p) => p.map(toWireEdge)),
});

/** v2 lists: a bare array, the total in `x-total-count`. */
export function sendPage<T, W>(reply: FastifyReply, page: ListResult<T>, map: (item: T) => W): W[] {
  void reply.header('x-total-count', String(page.total));
  return page.items.map(map);
}

/** GraphOperation bodies: add, remove or update one edge. */
export const GraphOperationSchema = (types: readonly string[]) =>
  Type.Object(
    {
      op: Type.Union([Type.Literal('add'), Type.Literal('remove'), Type.Literal('update')]),
      type: Type.Union(types.map((t) => Type.Literal(t))),
      id: Type.String({ minLength: 1, maxLength: 64 }),
      attributes: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
    },
    { additionalProperties: true },
  );
