import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { DirectoryCore } from '../../core/directory.js';
import { messagePage } from '../pages.js';
import { signedIn, signInUrl } from '../sign-in.js';
import { createProvider, grantableScopes, interactionPath, OIDC_PATH, type ProviderOptions } from './provider.js';

/** What refused users are told, and what the client receives as error_description. */
const REFUSALS: Record<string, string> = {
  NOT_ASSOCIATED: 'The user does not have access to this application.',
  APPLICATION_INACTIVE: 'The application is not active.',
  APPLICATION_NOT_FOUND: 'The application does not exist.',
};

export interface OidcFrontEnd {
  /**
   * Builds the provider for the issuer (the public URL plus /oidc), once the server knows its URL,
   * and from then on follows the keys in the store (see `registerOidc`) until the server closes.
   */
  start(publicUrl: string): Promise<void>;
  readonly issuer: string | undefined;
}

/** The provider serving requests, and the version of the keys it was built with. */
interface Current {
  provider: Provider;
  handle: (req: unknown, res: unknown) => Promise<void>;
  version: string;
}

/**
 * The OpenID Connect provider at /oidc: node-oidc-provider handles the protocol endpoints
 * (discovery, authorization, token, userinfo, JWKS, end session, revocation, introspection);
 * Roster handles the interaction: the browser signs in on Roster's sign-in pages, and the
 * application's access rules decide.
 *
 * The keys live in the store, shared by every process. This process reads them again every
 * `core.oidc.keyRefreshMs`, at once after it rotates one, and when one is scheduled to start or
 * leave; when they changed it builds a new provider and sends new requests to it (requests in
 * flight finish on the old one; everything else the provider keeps is in the store).
 */
export async function registerOidc(app: FastifyInstance, core: DirectoryCore, options: Omit<ProviderOptions, 'log'>): Promise<OidcFrontEnd> {
  let current: Current | undefined;
  const unavailable = (reply: FastifyReply) => reply.code(503).type('text/html').send(messagePage('Unavailable', 'Single sign-on is starting; try again shortly.'));

  await app.register(async (scope) => {
    await scope.register(cookie);
    // The provider reads request bodies itself: fastify leaves the stream alone here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));

    /** Rewrites the URL to the provider's own paths, as a mount does; it builds its URLs from originalUrl. */
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      const handle = current?.handle;
      if (!handle) return unavailable(reply);
      const raw = request.raw as typeof request.raw & { originalUrl?: string };
      const url = raw.url ?? '/';
      raw.originalUrl = url;
      raw.url = url.slice(OIDC_PATH.length) || '/';
      if (!raw.url.startsWith('/')) raw.url = `/${raw.url}`;
      reply.hijack();
      await handle(raw, reply.raw);
    };
    scope.all(OIDC_PATH, forward);
    scope.all(`${OIDC_PATH}/*`, forward);

    scope.get<{ Params: { uid: string } }>(`${OIDC_PATH}/interaction/:uid`, async (request, reply) => {
      const provider = current?.provider;
      if (!provider) return unavailable(reply);
      void reply.header('cache-control', 'no-store');
      const details = await provider.interactionDetails(request.raw, reply.raw).catch(() => undefined);
      if (!details || details.uid !== request.params.uid) {
        return reply.code(400).type('text/html').send(messagePage('Sign-in expired', 'This sign-in has expired or was already used. Go back to the application and try again.'));
      }
      const clientId = String(details.params.client_id ?? '');
      const client = await core.oidc.clientForProvider(clientId);
      const finish = async (result: InteractionResults) => {
        reply.hijack();
        await provider.interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
      };
      if (!client) return finish({ error: 'access_denied', error_description: REFUSALS.APPLICATION_NOT_FOUND });
      const orgId = client.record.orgId;

      // signedIn → the user's own organization → access to the application (journaled) → login and grant.
      const found = await signedIn(core, request);
      if (!found || found.user.orgId !== orgId) return reply.code(303).redirect(signInUrl(orgId, interactionPath(details.uid)));
      const { user, session } = found;
      const access = await core.signIn.applicationAccess(user, client.record.applicationId, {
        ip: request.ip,
        userAgent: String(request.headers['user-agent'] ?? ''),
        origin: 'sso',
        protocol: 'oidc',
      });
      if (!access.ok) return finish({ error: 'access_denied', error_description: REFUSALS[access.reason] ?? 'Access denied.' });

      const grantId = details.grantId;
      let grant = grantId ? await provider.Grant.find(grantId) : undefined;
      if (grant && (grant.accountId !== user.id || grant.clientId !== clientId)) grant = undefined;
      grant ??= new provider.Grant({ accountId: user.id, clientId });
      grant.addOIDCScope(grantableScopes(details.params.scope).join(' '));
      return finish({
        login: {
          accountId: user.id,
          ts: Math.floor(Date.parse(session.created) / 1000),
          amr: session.mfa ? ['pwd', 'otp'] : ['pwd'],
          remember: false,
        },
        consent: { grantId: await grant.save() },
      });
    });
  });

  let issuer: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  /** Reads the keys and builds a new provider if they changed; one at a time. Answers when they change next. */
  const refresh = (): Promise<string | null> => {
    const run = queue.then(async () => {
      const keys = await core.oidc.keys();
      if (issuer && current?.version !== keys.version) {
        const provider = createProvider(core, issuer, { ...options, log: app.log }, keys);
        current = { provider, handle: provider.callback() as unknown as Current['handle'], version: keys.version };
      }
      return keys.nextChange;
    });
    queue = run.catch(() => undefined);
    return run;
  };
  /** Every keyRefreshMs, or just after the next scheduled change if that comes first. */
  const schedule = (nextChange: string | null) => {
    if (closed) return;
    const untilChange = nextChange === null ? Infinity : Math.max(0, Date.parse(nextChange) - Date.now()) + 50;
    timer = setTimeout(() => {
      refresh().then(schedule, (e: unknown) => {
        app.log.warn({ err: e }, 'reading the OpenID Connect keys failed; the provider keeps the keys it has');
        schedule(null);
      });
    }, Math.min(core.oidc.keyRefreshMs, untilChange));
    timer.unref();
  };
  app.addHook('onClose', async () => {
    closed = true;
    clearTimeout(timer);
    unsubscribe?.();
  });

  return {
    get issuer() {
      return issuer;
    },
    async start(publicUrl: string) {
      issuer = `${publicUrl.replace(/\/+$/, '')}${OIDC_PATH}`;
      schedule(await refresh());
      unsubscribe = core.oidc.onKeysChanged(() => {
        refresh().catch((e: unknown) => app.log.warn({ err: e }, 'reading the OpenID Connect keys failed; the provider keeps the keys it has'));
      });
    },
  };
}
