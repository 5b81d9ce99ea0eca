import type { FastifyRequest } from 'fastify';
import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: Context | null;
  }
  interface FastifyInstance {
    core: DirectoryCore;
  }
}

/** The authenticated principal; routes under /api only run after the auth hook set it. */
export function ctxOf(request: FastifyRequest): Context {
  if (!request.ctx) throw new Error('route registered outside the authenticated scope');
  return request.ctx;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** onRequest hook: the API key and x-org-id become a Context before the body is even read. */
export async function authenticate(request: FastifyRequest): Promise<void> {
  request.ctx = await request.server.core.apiKeys.authenticate(header(request, 'x-api-key'), header(request, 'x-org-id'), 'api');
}
