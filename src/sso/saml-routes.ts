import { randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { systemContext } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import type { Application, User, UserSession } from '../core/model.js';
import { messagePage } from './pages.js';
import { isSamlApplication, type SamlAppSettings } from './saml-app-config.js';
import { baseUrlOf, SamlApplications, samlUrls } from './saml-apps.js';
import { isPendingKey, openPending, PENDING_MAX_AGE_MS, pendingCookieName, sealPending } from './saml-pending.js';
import {
  DEFAULT_CLOCK_SKEW_MS,
  readAuthnRequest,
  renderPostForm,
  ReplayCache,
  SamlResponseError,
  type PostBindingMessage,
  type RedirectBindingMessage,
  type ValidatedAuthnRequest,
} from './saml/index.js';
import { signedIn, signInUrl } from './sign-in.js';

export interface SamlRouteOptions {
  /**
   * Request IDs seen by this process (made here when not given): a first check that spares the
   * store a lookup for replays to the same process. The store (core.samlReplay) decides.
   */
  replayCache?: ReplayCache;
  /** ROSTER_PUBLIC_URL: the base of entity ids and endpoint URLs; else each request's own. */
  publicUrl?: string;
}

/** Pages that run no script. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/**
 * The auto-submitting form: only its own nonce'd script runs. No form-action: browsers apply it to
 * the redirects that follow the submission too, and ACS endpoints commonly redirect to another origin.
 */
const formCsp = (nonce: string) => `default-src 'none'; script-src 'nonce-${nonce}'; frame-ancestors 'none'; base-uri 'none'`;
/** RelayState on /start travels through the sign-in page's return path, which is capped at 2048 characters. */
const MAX_START_RELAY_STATE_BYTES = 512;

/** A HEAD (a link checker, a prefetch) must not use up a request ID or a kept request. */
const NO_HEAD = { exposeHeadRoute: false };

/** A step that ends the request early: an HTML page or a redirect. */
class Halt {
  constructor(readonly send: (reply: FastifyReply) => FastifyReply) {}
}
const page = (status: number, title: string, message: string) => new Halt((reply) => reply.code(status).type('text/html').send(messagePage(title, message)));
const redirect = (location: string) => new Halt((reply) => reply.code(303).redirect(location));

interface Loaded {
  app: Application;
  settings: SamlAppSettings;
}

interface Signed {
  user: User;
  session: UserSession;
}

const rawQuery = (request: FastifyRequest) => {
  const at = request.url.indexOf('?');
  return at < 0 ? '' : request.url.slice(at + 1);
};

/**
 * Roster as a SAML 2.0 identity provider, at /saml/{application id}: metadata, SP-initiated
 * single sign-on over the HTTP-Redirect and HTTP-POST bindings, and IdP-initiated sign-on. Users
 * sign in on the /sso pages; the AuthnRequest waits for them in a MAC'd cookie.
 */
export async function samlRoutes(app: FastifyInstance, core: DirectoryCore, options: SamlRouteOptions = {}): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 256 * 1024 });
  const apps = new SamlApplications(core);
  // The replay window covers the whole accepted IssueInstant window (± the skew) and a minute more.
  const replayWindowMs = 2 * DEFAULT_CLOCK_SKEW_MS + 60_000;
  const replayCache = options.replayCache ?? new ReplayCache({ windowMs: replayWindowMs });

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CSP);
  });
  app.setErrorHandler((error: { statusCode?: number }, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'SAML request failed');
    const [title, message] = status === 500 ? ['Something went wrong', 'Roster could not complete this sign-in. Try again, or ask your administrator.'] : ['Bad request', 'Roster could not read this request.'];
    return reply.code(status).type('text/html').send(messagePage(title, message));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('text/html').send(messagePage('Not found', 'There is nothing at this address.')));

  const baseUrl = (request: FastifyRequest) => baseUrlOf(request, options.publicUrl);
  const where = (request: FastifyRequest) => ({ ip: request.ip, userAgent: String(request.headers['user-agent'] ?? ''), origin: 'sso' as const });

  /** A refused sign-in to the application, in the journal beside the sign-ins (`sign_in` on the organization). */
  const journalRefusal = (request: FastifyRequest, application: Application, details: Record<string, unknown>, user?: User) =>
    core.journal.recordEvents(application.orgId, 'sso', [
      {
        actor: user ? { type: 'user', id: user.id } : { type: 'system', id: null },
        entry: {
          objectType: 'organization',
          objectId: application.orgId,
          operation: 'sign_in',
          changes: {},
          details: { applicationId: application.id, protocol: 'saml', result: 'refused', ...(user ? { userId: user.id, username: user.username } : {}), ...details, ip: request.ip },
        },
      },
    ]);

  /**
   * The application named in the path: it exists and uses SAML, and its configuration is complete
   * (the key pair, entity id and NameID secret are made now if an API write did not make them).
   */
  const loadApplication = async (request: FastifyRequest<{ Params: { appId: string } }>, secrets: 'open' | 'public'): Promise<Loaded | Halt> => {
    let application = await apps.find(request.params.appId);
    if (!application || !isSamlApplication(application)) return page(404, 'Not found', 'There is no SAML application at this address.');
    if (apps.needsCompletion(application)) application = await apps.complete(systemContext(application.orgId, 'sso'), application, baseUrl(request));
    const settings = secrets === 'open' ? apps.loginSettings(application) : apps.publicSettings(application);
    if (!settings.ok) {
      request.log.warn({ applicationId: application.id, problem: settings.error }, 'SAML application is not configured');
      return page(500, 'Application not configured', 'Single sign-on to this application is not configured correctly. Ask your administrator.');
    }
    return { app: application, settings: settings.value };
  };

  /**
   * The AuthnRequest, validated (authn-request.ts): from this application's SP, signed when
   * required, to a registered ACS URL, addressed here, fresh, not replayed — neither to this
   * process (its cache) nor to any other sharing the store (recorded there last, so that only
   * valid requests use up IDs). A refusal is a 400 page and a journal entry.
   */
  const readRequest = async (request: FastifyRequest<{ Params: { appId: string } }>, loaded: Loaded, message: RedirectBindingMessage | PostBindingMessage): Promise<ValidatedAuthnRequest | Halt> => {
    const { settings, app: application } = loaded;
    const result = readAuthnRequest(message, (entityId) => (entityId === settings.spEntityId ? SamlApplications.serviceProvider(settings) : undefined), {
      replayCache,
      // SAML core §3.2.1: a Destination names this endpoint, at the public URL or as this request addressed it.
      ssoUrls: [...new Set([samlUrls(baseUrl(request), application.id).sso, samlUrls(baseUrlOf(request), application.id).sso])],
    });
    const refuse = async ({ code, message }: { code: string; message: string }) => {
      await journalRefusal(request, application, { reason: 'AUTHN_REQUEST_REFUSED', error: code, message });
      return page(400, 'Sign-in request refused', `The application sent a sign-in request that Roster cannot accept (${code}): ${message}`);
    };
    if (!result.ok) return refuse(result.error);
    if (!(await core.samlReplay.firstUse(result.value.issuer, result.value.id, replayWindowMs))) return refuse({ code: 'REPLAYED', message: 'The request ID was already used' });
    return result.value;
  };

  /** The signed-in user, when the session is good and, for ForceAuthn, began after the request. */
  const resumeSession = async (request: FastifyRequest, freshSince?: number): Promise<Signed | undefined> => {
    const found = await signedIn(core, request);
    if (!found) return undefined;
    if (freshSince !== undefined && Date.parse(found.session.created) < freshSince) return undefined;
    return found;
  };

  /** The user may use the application: it is active, and they are associated with it directly or through a group (journaled). */
  const checkAccess = async (request: FastifyRequest, loaded: Loaded, user: User): Promise<Halt | undefined> => {
    // The application read just now, not the association view's copy, decides whether it is active.
    if (!loaded.app.active) {
      await journalRefusal(request, loaded.app, { reason: 'APPLICATION_INACTIVE' }, user);
      return page(403, 'Application disabled', 'This application is disabled. Ask your administrator.');
    }
    const access = await core.signIn.applicationAccess(user, loaded.app.id, { ...where(request), protocol: 'saml' });
    if (access.ok) return undefined;
    if (access.reason === 'NOT_ASSOCIATED') return page(403, 'No access', 'Your account does not have access to this application. Ask your administrator for access.');
    return page(403, 'Application unavailable', 'This application is not available.');
  };

  /** The Response in the auto-submitting form to the ACS URL, under a CSP that lets only its own script run. */
  const respond = async (
    request: FastifyRequest,
    reply: FastifyReply,
    loaded: Loaded,
    signed: Signed,
    answer: { acsUrl: string; inResponseTo?: string; relayState?: string },
  ) => {
    const denied = await checkAccess(request, loaded, signed.user);
    if (denied) return denied.send(reply);
    let samlResponse: string;
    try {
      samlResponse = SamlApplications.response(loaded.settings, {
        user: signed.user,
        groupNames: await apps.groupNames(signed.user, loaded.app.id),
        acsUrl: answer.acsUrl,
        authnInstant: new Date(signed.session.created),
        ...(answer.inResponseTo !== undefined ? { inResponseTo: answer.inResponseTo } : {}),
      }).samlResponse;
    } catch (e) {
      if (!(e instanceof SamlResponseError)) throw e;
      await journalRefusal(request, loaded.app, { reason: 'RESPONSE_UNAVAILABLE', error: e.code, message: e.message }, signed.user);
      return page(409, 'Cannot sign you in', `Roster cannot sign you in to this application: ${e.message}. Ask your administrator.`).send(reply);
    }
    const nonce = randomBytes(16).toString('base64');
    reply.header('content-security-policy', formCsp(nonce));
    return reply
      .type('text/html')
      .send(renderPostForm({ action: answer.acsUrl, samlResponse, nonce, ...(answer.relayState !== undefined ? { relayState: answer.relayState } : {}) }));
  };

  /**
   * A validated AuthnRequest: answered at once for a signed-in user; otherwise kept in a cookie
   * while the user signs in (IsPassive requests get NoPassive instead).
   */
  const answerRequest = async (request: FastifyRequest, reply: FastifyReply, loaded: Loaded, authn: ValidatedAuthnRequest) => {
    const received = Date.now();
    const signed = await resumeSession(request, authn.forceAuthn ? received : undefined);
    if (signed) return respond(request, reply, loaded, signed, { acsUrl: authn.acsUrl, inResponseTo: authn.id, ...(authn.relayState !== undefined ? { relayState: authn.relayState } : {}) });
    if (authn.isPassive) {
      const samlResponse = SamlApplications.noPassiveResponse(loaded.settings, authn.acsUrl, authn.id);
      const nonce = randomBytes(16).toString('base64');
      reply.header('content-security-policy', formCsp(nonce));
      return reply.type('text/html').send(renderPostForm({ action: authn.acsUrl, samlResponse, nonce, ...(authn.relayState !== undefined ? { relayState: authn.relayState } : {}) }));
    }
    const pending = sealPending(loaded.settings.persistentNameIdSecret!, loaded.app.id, authn, received);
    if (!pending) return page(400, 'Sign-in request refused', 'The sign-in request is too large to keep while you sign in.').send(reply);
    void reply.setCookie(pendingCookieName(pending.key), pending.value, {
      path: `/saml/${loaded.app.id}`,
      httpOnly: true,
      sameSite: 'lax',
      secure: request.protocol === 'https',
      maxAge: PENDING_MAX_AGE_MS / 1000,
    });
    const continuePath = `/saml/${loaded.app.id}/continue?k=${pending.key}`;
    // A POST from the SP's site carries no SameSite=Lax session cookie: a GET here sees it, if there is one.
    return redirect(authn.binding === 'post' ? continuePath : signInUrl(loaded.app.orgId, continuePath)).send(reply);
  };

  type AppRequest = FastifyRequest<{ Params: { appId: string } }>;

  app.get<{ Params: { appId: string } }>('/:appId/metadata', async (request, reply) => {
    const loaded = await loadApplication(request, 'public');
    if (loaded instanceof Halt) return loaded.send(reply);
    const { sso } = samlUrls(baseUrl(request), loaded.app.id);
    return reply.type('application/samlmetadata+xml; charset=utf-8').send(SamlApplications.metadata(loaded.settings, sso));
  });

  app.get<{ Params: { appId: string } }>('/:appId/sso', NO_HEAD, async (request: AppRequest, reply) => {
    const loaded = await loadApplication(request, 'open');
    if (loaded instanceof Halt) return loaded.send(reply);
    const authn = await readRequest(request, loaded, { binding: 'redirect', query: rawQuery(request) });
    if (authn instanceof Halt) return authn.send(reply);
    return answerRequest(request, reply, loaded, authn);
  });

  app.post<{ Params: { appId: string }; Body: Record<string, unknown> | undefined }>('/:appId/sso', async (request, reply) => {
    const loaded = await loadApplication(request, 'open');
    if (loaded instanceof Halt) return loaded.send(reply);
    const body = request.body ?? {};
    const message: PostBindingMessage = {
      binding: 'post',
      samlRequest: body.SAMLRequest as string,
      ...(body.RelayState !== undefined && { relayState: body.RelayState as string }),
    };
    const authn = await readRequest(request, loaded, message);
    if (authn instanceof Halt) return authn.send(reply);
    return answerRequest(request, reply, loaded, authn);
  });

  /** Back from the sign-in pages: the kept request, answered for the user now signed in. */
  app.get<{ Params: { appId: string }; Querystring: { k?: string } }>('/:appId/continue', NO_HEAD, async (request, reply) => {
    const loaded = await loadApplication(request, 'open');
    if (loaded instanceof Halt) return loaded.send(reply);
    const key = request.query.k;
    const pending = isPendingKey(key) ? openPending(loaded.settings.persistentNameIdSecret!, loaded.app.id, key, request.cookies[pendingCookieName(key)], Date.now()) : undefined;
    if (!pending || !isPendingKey(key)) return page(400, 'Sign-in expired', 'This sign-in request has expired or was already used. Go back to the application and sign in again.').send(reply);
    const authn = pending.request;
    const signed = await resumeSession(request, authn.forceAuthn ? pending.received : undefined);
    if (!signed) return redirect(signInUrl(loaded.app.orgId, `/saml/${loaded.app.id}/continue?k=${key}`)).send(reply);
    void reply.clearCookie(pendingCookieName(key), { path: `/saml/${loaded.app.id}` });
    return respond(request, reply, loaded, signed, { acsUrl: authn.acsUrl, inResponseTo: authn.id, ...(authn.relayState !== undefined ? { relayState: authn.relayState } : {}) });
  });

  /** IdP-initiated sign-on: a Response without InResponseTo to the application's first ACS URL. */
  app.get<{ Params: { appId: string }; Querystring: { RelayState?: unknown } }>('/:appId/start', NO_HEAD, async (request, reply) => {
    const loaded = await loadApplication(request, 'open');
    if (loaded instanceof Halt) return loaded.send(reply);
    const relayState = request.query.RelayState;
    if (relayState !== undefined && (typeof relayState !== 'string' || Buffer.byteLength(relayState, 'utf8') > MAX_START_RELAY_STATE_BYTES)) {
      return page(400, 'Bad request', `RelayState must be one value of at most ${MAX_START_RELAY_STATE_BYTES} bytes.`).send(reply);
    }
    const signed = await resumeSession(request);
    if (!signed) {
      const back = `/saml/${loaded.app.id}/start${relayState === undefined ? '' : `?RelayState=${encodeURIComponent(relayState)}`}`;
      return redirect(signInUrl(loaded.app.orgId, back)).send(reply);
    }
    return respond(request, reply, loaded, signed, { acsUrl: loaded.settings.acsUrls[0]!, ...(relayState !== undefined ? { relayState } : {}) });
  });
}

/** Mounts the SAML identity provider on the HTTP server at /saml. */
export async function registerSaml(app: FastifyInstance, core: DirectoryCore, options: SamlRouteOptions = {}): Promise<void> {
  await app.register(async (scope) => samlRoutes(scope, core, options), { prefix: '/saml' });
}
