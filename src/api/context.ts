import type { FastifyRequest } from 'fastify';
import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import { forbidden } from '../core/errors.js';

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

/** The admin portal's session cookie (HttpOnly, SameSite=Strict, path /api). */
export const ADMIN_SESSION_COOKIE = 'roster_admin';

/**
 * Requests that a browser's cookie authenticates must come from Roster's own pages: they carry
 * `x-requested-with: roster`, which no other site's page can set without a CORS preflight that
 * Roster never grants, and an Origin, when the browser sends one, of this server.
 */
export function requirePortalRequest(request: FastifyRequest): void {
  if (header(request, 'x-requested-with') !== 'roster') {
    throw forbidden('PORTAL_HEADER_MISSING', 'Requests signed in with a browser session must send the header x-requested-with: roster');
  }
  const origin = header(request, 'origin');
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== request.host) throw forbidden('CROSS_SITE_REQUEST', 'This request came from another site');
}

/**
 * onRequest hook: the API key (or, without one, the admin portal's session cookie) and x-org-id
 * become a Context before the body is even read.
 */
export async function authenticate(request: FastifyRequest): Promise<void> {
  const key = header(request, 'x-api-key');
  const session = key === undefined ? request.cookies?.[ADMIN_SESSION_COOKIE] : undefined;
  if (session) {
    requirePortalRequest(request);
    request.ctx = await request.server.core.adminSignIn.authenticate(session, header(request, 'x-org-id'));
    return;
  }
  request.ctx = await request.server.core.apiKeys.authenticate(key, header(request, 'x-org-id'), 'api');
}
