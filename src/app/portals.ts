import fastifyStatic from '@fastify/static';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DirectoryCore } from '../core/directory.js';
import { isWellFormedId, type OrgId } from '../core/ids.js';
import { messagePage } from '../sso/pages.js';
import { signedIn, signInUrl } from '../sso/sign-in.js';
import cookie from '@fastify/cookie';

/**
 * The portals' pages allow only what the build contains: its scripts, styles, fonts and images
 * (QR codes arrive as data: images). No inline script, no other origin, no framing.
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Where the built portals are: dist/web beside the compiled server, or under the repository when run from source. */
export function defaultWebDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = join(here, '..', '..', 'web');
  return existsSync(join(compiled, 'admin', 'index.html')) ? compiled : join(here, '..', '..', 'dist', 'web');
}

function sendPage(reply: FastifyReply, html: string) {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', PAGE_POLICY)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .send(html);
}

/**
 * The admin portal at /admin/ and the user portal at /portal/ (single-page apps built from web/),
 * their assets at /assets/ (content-hashed names, cached for a year), and / sending people to the
 * admin portal. The user portal needs a user session: without one, it sends the browser to its
 * organization's sign-in (`?org=<id>`, or the only organization) and back.
 */
export async function registerPortals(app: FastifyInstance, core: DirectoryCore, options: { dir?: string } = {}): Promise<void> {
  const dir = options.dir ?? defaultWebDir();
  const adminFile = join(dir, 'admin', 'index.html');
  const portalFile = join(dir, 'portal', 'index.html');
  if (!existsSync(adminFile) || !existsSync(portalFile)) {
    const missing = (_request: FastifyRequest, reply: FastifyReply) =>
      reply.code(503).type('text/html').send(messagePage('Portals not built', 'The admin and user portals have not been built. Run npm run build, then start Roster again.'));
    app.get('/admin', { schema: { hide: true } }, missing);
    app.get('/admin/*', { schema: { hide: true } }, missing);
    app.get('/portal', { schema: { hide: true } }, missing);
    app.get('/portal/*', { schema: { hide: true } }, missing);
    return;
  }
  // Read per request (they are small): a rebuild's new asset names take effect without a restart.
  const adminHtml = () => readFileSync(adminFile, 'utf8');
  const portalHtml = () => readFileSync(portalFile, 'utf8');

  await app.register(async (assets) => {
    assets.addHook('onSend', async (_request, reply) => {
      if (reply.statusCode === 200) reply.header('cache-control', 'public, max-age=31536000, immutable');
    });
    await assets.register(fastifyStatic, { root: join(dir, 'assets'), prefix: '/assets/', index: false, cacheControl: false, etag: true, lastModified: false });
  });

  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.code(302).redirect('/admin/'));
  const admin = async (_request: FastifyRequest, reply: FastifyReply) => sendPage(reply, adminHtml());
  app.get('/admin', { schema: { hide: true } }, admin);
  app.get('/admin/*', { schema: { hide: true } }, admin);

  await app.register(async (portal) => {
    await portal.register(cookie);
    const page = async (request: FastifyRequest<{ Querystring: { org?: string } }>, reply: FastifyReply) => {
      if (await signedIn(core, request)) return sendPage(reply, portalHtml());
      let orgId: string | undefined = request.query.org;
      if (orgId === undefined) {
        const all = await core.store.read.orgs.listAll({ sort: [], page: { limit: 2, skip: 0 } });
        orgId = all.total === 1 ? all.items[0]?.id : undefined;
      }
      if (!orgId || !isWellFormedId(orgId) || !(await core.store.read.orgs.findById(orgId as OrgId))) {
        return reply
          .code(404)
          .type('text/html')
          .send(messagePage('Choose your organization', 'Open the user portal from the link your administrator gave you: it names your organization.'));
      }
      const back = new URL(request.url, 'http://x');
      back.searchParams.delete('org');
      return reply.code(303).redirect(signInUrl(orgId, `${back.pathname}${back.search}`));
    };
    portal.get('/portal', { schema: { hide: true } }, page);
    portal.get('/portal/*', { schema: { hide: true } }, page);
  });
}
