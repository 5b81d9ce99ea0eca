export interface PostFormInput {
  /** The SP's ACS URL (http or https). */
  action: string;
  samlResponse: string;
  relayState?: string;
  /** CSP nonce for the inline submit script. */
  nonce?: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/**
 * The HTTP-POST binding page (SAML bindings §3.5.4): a form that submits itself to the ACS URL,
 * with a button for browsers without script. Every value is HTML-escaped; the action must be an
 * http(s) URL so a misconfigured `javascript:` URL cannot run in the IdP's origin.
 */
export function renderPostForm(input: PostFormInput): string {
  let url: URL;
  try {
    url = new URL(input.action);
  } catch {
    throw new TypeError('The form action must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('The form action must be an http(s) URL');
  const nonce = input.nonce === undefined ? '' : ` nonce="${escapeHtml(input.nonce)}"`;
  const relayState = input.relayState === undefined ? '' : `<input type="hidden" name="RelayState" value="${escapeHtml(input.relayState)}">`;
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Signing in…</title></head>',
    '<body>',
    `<form method="post" action="${escapeHtml(input.action)}">`,
    `<input type="hidden" name="SAMLResponse" value="${escapeHtml(input.samlResponse)}">`,
    relayState,
    '<noscript><p>JavaScript is disabled. Press Continue to finish signing in.</p></noscript>',
    '<button type="submit">Continue</button>',
    '</form>',
    `<script${nonce}>document.forms[0].submit();</script>`,
    '</body></html>',
  ].join('\n');
}
