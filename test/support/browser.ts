import { request as httpsRequest } from 'node:https';

export interface Page {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  url: string;
  /** The Location header resolved against the page's URL. */
  location?: string;
}

interface StoredCookie {
  value: string;
  path: string;
  expires: number;
}

/**
 * A browser as far as SAML needs one: it keeps cookies (name, Path, Max-Age, Expires; this is one
 * host), follows no redirect by itself, and trusts the test CA. Node's fetch cannot take a CA
 * without undici's Agent, so it speaks node:https.
 */
export class Browser {
  private readonly jar = new Map<string, StoredCookie>();

  constructor(
    private readonly base: string,
    private readonly ca: Buffer,
  ) {}

  cookie(name: string): string | undefined {
    const c = this.jar.get(name);
    return c && c.expires > Date.now() ? c.value : undefined;
  }

  cookieNames(): string[] {
    return [...this.jar.keys()].filter((name) => this.cookie(name) !== undefined);
  }

  get(url: string, headers: Record<string, string> = {}): Promise<Page> {
    return this.send('GET', url, undefined, headers);
  }

  /** An application/x-www-form-urlencoded POST, as a browser submits a form. */
  post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    return this.send('POST', url, new URLSearchParams(form).toString(), { 'content-type': 'application/x-www-form-urlencoded', ...headers });
  }

  /** Follows redirects (as GETs) until a page that is not one. */
  async follow(page: Page, limit = 10): Promise<Page> {
    let current = page;
    for (let i = 0; current.location && current.status >= 300 && current.status < 400; i++) {
      if (i >= limit) throw new Error(`more than ${limit} redirects from ${page.url}`);
      current = await this.get(current.location);
    }
    return current;
  }

  /**
   * Follows redirects from `url`, filling in Roster's sign-in form with `username` and `password`
   * when it comes up, until a redirect leaves for `leaveAt` (a client's redirect URI or ACS URL):
   * that redirect is the answer; so is any page that is neither a redirect nor the sign-in form.
   */
  async signInThrough(url: string, username: string, password: string, leaveAt: string): Promise<Page> {
    let page = await this.get(url);
    for (let hop = 0; hop < 20; hop++) {
      if (page.location && page.status >= 300 && page.status < 400) {
        if (page.location.startsWith(leaveAt)) return page;
        page = await this.get(page.location);
        continue;
      }
      const at = new URL(page.url);
      if (page.status !== 200 || !at.pathname.endsWith('/sign-in')) return page;
      page = await this.post(at.pathname, { username, password, return: at.searchParams.get('return') ?? '/' });
      if (page.status !== 303) throw new Error(`sign-in refused: ${page.status} ${page.body.slice(0, 300)}`);
    }
    throw new Error(`more than 20 redirects from ${url}`);
  }

  private send(method: string, url: string, body: string | undefined, headers: Record<string, string>): Promise<Page> {
    const target = new URL(url, this.base);
    const cookies = [...this.jar.entries()]
      .filter(([, c]) => c.expires > Date.now() && (target.pathname === c.path || target.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map(([name, c]) => `${name}=${c.value}`);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        target,
        { method, ca: this.ca, headers: { ...(cookies.length > 0 ? { cookie: cookies.join('; ') } : {}), ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}), ...headers } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            for (const line of res.headers['set-cookie'] ?? []) this.store(line);
            const location = res.headers.location;
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, url: target.href, ...(location ? { location: new URL(location, target).href } : {}) });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private store(line: string): void {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    let path = '/';
    let expires = Number.POSITIVE_INFINITY;
    for (const attribute of attributes) {
      const [key, v = ''] = attribute.split('=');
      if (key!.toLowerCase() === 'path') path = v;
      else if (key!.toLowerCase() === 'max-age') expires = Date.now() + Number(v) * 1000;
      else if (key!.toLowerCase() === 'expires' && expires === Number.POSITIVE_INFINITY) expires = Date.parse(v);
    }
    if (value === '' || expires <= Date.now()) this.jar.delete(name);
    else this.jar.set(name, { value, path, expires });
  }
}

/** The fields and action of the auto-submitting SAML form. */
export function samlForm(html: string): { action: string; SAMLResponse: string; RelayState?: string; nonce?: string } {
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const field = (name: string) => {
    const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
    return m ? unescape(m[1]!) : undefined;
  };
  const action = /<form method="post" action="([^"]*)">/.exec(html)?.[1];
  const samlResponse = field('SAMLResponse');
  if (!action || !samlResponse) throw new Error(`not a SAML POST form:\n${html.slice(0, 500)}`);
  const relayState = field('RelayState');
  const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1];
  return { action: unescape(action), SAMLResponse: samlResponse, ...(relayState !== undefined ? { RelayState: relayState } : {}), ...(nonce ? { nonce } : {}) };
}

/** fetch over HTTPS trusting the test CA, never following redirects: what openid-client and the "browser" use. */
export function tlsFetch(ca: Buffer) {
  return (url: string, options: { method?: string; headers?: HeadersInit; body?: unknown } = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(options.headers).entries());
      const req = httpsRequest(url, { method: options.method ?? 'GET', ca, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.append(k, one);
          const status = res.statusCode ?? 0;
          resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: out }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options.body === undefined || options.body === null ? undefined : typeof options.body === 'string' ? options.body : String(options.body));
    });
}
