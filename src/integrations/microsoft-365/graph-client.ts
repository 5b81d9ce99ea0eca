import { request as httpsRequest, Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { TokenCredential } from '@azure/identity';
import { ClientSecretCredential } from '@azure/identity';
import { AuthenticationHandler, Client, TelemetryHandler, type AuthenticationProvider, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import { withRetry, type RetryPolicy } from '../../sync/retry.js';
import { tokenError, translate } from './errors.js';

export const PUBLIC_AUTHORITY = 'https://login.microsoftonline.com';
export const PUBLIC_GRAPH = 'https://graph.microsoft.com';

export interface GraphClientOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  authorityHost?: string;
  graphBaseUrl?: string;
  /** Extra CA certificates (PEM) trusted besides the public ones, by MSAL's and Graph's connections. */
  ca?: string;
  retry: RetryPolicy;
  timeoutMs: number;
}

/** The narrow port the connector sees: Graph calls by URL, each retried, failures as GraphCallError. */
export interface Graph {
  /** The Graph root without version, e.g. https://graph.microsoft.com. */
  baseUrl: string;
  /** `call` names the request in errors (`PATCH /users/{id}`); `url` is a path under /v1.0 or a nextLink / deltaLink. */
  get<T>(call: string, url: string): Promise<T>;
  post<T>(call: string, url: string, body: unknown, hooks?: { beforeRetry?: () => Promise<T | undefined> }): Promise<T>;
  patch(call: string, url: string, body: unknown): Promise<void>;
  delete(call: string, url: string): Promise<void>;
}

/** A page of a Graph collection or delta round. */
export interface Page<T> {
  value: T[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

/** Every page of a collection, following @odata.nextLink (each page retried on its own). */
export async function list<T>(graph: Graph, call: string, url: string): Promise<T[]> {
  const items: T[] = [];
  for (let next: string | undefined = url; next; ) {
    const page: Page<T> = await graph.get<Page<T>>(call, next);
    items.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return items;
}

/** Gets Graph tokens from the credential, turning its failures into errors the translator knows. */
class CredentialProvider implements AuthenticationProvider {
  constructor(
    private readonly credential: TokenCredential,
    private readonly scope: string,
    private readonly timeoutMs: number,
  ) {}

  async getAccessToken(): Promise<string> {
    let token;
    try {
      token = await this.credential.getToken(this.scope, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw tokenError(e);
    }
    if (!token) throw tokenError(new Error('the credential returned no token'));
    return token.token;
  }
}

/**
 * The chain's last handler in place of the SDK's HTTPMessageHandler (global fetch, which cannot
 * take extra CAs): node:https with our agent and a timeout. No RetryHandler or RedirectHandler is
 * in the chain: withRetry is the only retry loop, so attempts do not multiply.
 */
class HttpsTransport implements Middleware {
  constructor(
    private readonly agent: Agent,
    private readonly timeoutMs: number,
  ) {}

  async execute(context: Context): Promise<void> {
    // Through URL: the SDK joins query strings raw ($filter with spaces), fetch would have escaped them.
    const url = new URL(typeof context.request === 'string' ? context.request : context.request.url);
    const options = context.options ?? {};
    const headers: Record<string, string> = {};
    new Headers(options.headers as HeadersInit | undefined).forEach((value, key) => {
      headers[key] = value;
    });
    const body = options.body as string | Buffer | undefined;
    context.response = await new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(url, { method: options.method ?? 'GET', headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 500;
          const answer = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) answer.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: answer }));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

export function createGraph(o: GraphClientOptions): Graph {
  const baseUrl = (o.graphBaseUrl ?? PUBLIC_GRAPH).replace(/\/+$/, '');
  const authorityHost = (o.authorityHost ?? PUBLIC_AUTHORITY).replace(/\/+$/, '');
  // The SDK parses absolute (nextLink) URLs as https only; MSAL accepts only an https authority.
  if (!baseUrl.startsWith('https://') || !authorityHost.startsWith('https://')) throw new Error('Microsoft 365: the Graph and authority URLs must use https');
  const ca = o.ca ? [...rootCertificates, o.ca] : undefined;
  const credential = new ClientSecretCredential(o.tenantId, o.clientId, o.clientSecret, {
    authorityHost,
    // A custom authority is not in Microsoft's instance-discovery list: MSAL then reads only its OpenID configuration.
    disableInstanceDiscovery: authorityHost !== PUBLIC_AUTHORITY,
    retryOptions: { maxRetries: 0 },
    ...(ca ? { tlsOptions: { ca } } : {}),
  });
  const auth = new AuthenticationHandler(new CredentialProvider(credential, `${baseUrl}/.default`, o.timeoutMs));
  const transport = new HttpsTransport(new Agent({ keepAlive: true, ...(ca ? { ca } : {}) }), o.timeoutMs);
  const client = Client.initWithMiddleware({
    middleware: [auth, new TelemetryHandler(), transport],
    baseUrl,
    defaultVersion: 'v1.0',
    // The auth handler attaches tokens only to Graph's public hosts and these.
    customHosts: new Set([new URL(baseUrl).hostname]),
  });

  const call = <T>(what: string, fn: () => Promise<T>, hooks?: { beforeRetry?: () => Promise<T | undefined> }) =>
    withRetry(
      o.retry,
      async () => {
        try {
          return await fn();
        } catch (e) {
          throw translate(e, what);
        }
      },
      hooks,
    );

  return {
    baseUrl,
    get: (what, url) => call(what, () => client.api(url).get()),
    post: (what, url, body, hooks) => call(what, () => client.api(url).post(body), hooks),
    patch: (what, url, body) => call(what, () => client.api(url).patch(body)),
    delete: (what, url) => call(what, () => client.api(url).delete()),
  };
}
