/**
 * The sign-in pages: plain HTML forms, every value escaped. The only script is /sso/assets/webauthn.js,
 * which security keys and passkeys need (the browser's WebAuthn API has no form of its own).
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export const WEBAUTHN_SCRIPT = '/sso/assets/webauthn.js';

function page(title: string, body: string, options: { script?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
${options.script ? `<script src="${WEBAUTHN_SCRIPT}" defer></script>\n` : ''}<style>
body{font-family:system-ui,sans-serif;background:#f4f6f8;display:flex;justify-content:center;padding-top:10vh;margin:0}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);width:20rem}
h1{font-size:1.25rem;margin-top:0}label{display:block;margin:.75rem 0 .25rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1rem;width:100%;padding:.6rem;font-size:1rem}
.error{color:#9e2f00;background:#fff1ec;padding:.5rem;border-radius:4px}
.or{text-align:center;color:#555;margin:1rem 0 0}.secondary{background:#fff;border:1px solid #888}
a.button{display:block;text-align:center;margin-top:1rem;padding:.6rem;border:1px solid #888;border-radius:4px;color:inherit;text-decoration:none}
.qr svg{display:block;width:12rem;height:12rem;margin:0 auto}code{word-break:break-all}
.codes{columns:2;font-family:ui-monospace,monospace;font-size:1.05rem;padding-left:1.5rem}
</style>
</head>
<body><main>${body}</main></body>
</html>
`;
}

const hidden = (name: string, value: string) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
const error = (message?: string) => (message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '');

export function signInPage(options: { orgName: string; action: string; returnTo: string; username?: string; error?: string }): string {
  return page(
    `Sign in — ${options.orgName}`,
    `<h1>Sign in to ${escapeHtml(options.orgName)}</h1>
${error(options.error)}
<form method="post" action="${escapeHtml(options.action)}">
${hidden('return', options.returnTo)}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username webauthn" required autofocus value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
${webauthnForm({ id: 'passkey', label: 'Sign in with a passkey', optionsUrl: `${options.action}/passkey/options`, action: `${options.action}/passkey`, ceremony: 'get', returnTo: options.returnTo, secondary: true })}`,
    { script: true },
  );
}

/**
 * A button that runs a WebAuthn ceremony (the script asks `optionsUrl` for the options, calls the
 * browser, and posts the result in the form's `response` field). Hidden until the script finds
 * WebAuthn in the browser.
 */
function webauthnForm(options: { id: string; label: string; optionsUrl: string; action: string; ceremony: 'get' | 'create'; returnTo?: string; secondary?: boolean; name?: boolean }): string {
  return `<form method="post" action="${escapeHtml(options.action)}" id="${options.id}" data-webauthn="${options.ceremony}" data-options="${escapeHtml(options.optionsUrl)}" hidden>
${options.secondary ? '<p class="or">or</p>\n' : ''}${options.returnTo !== undefined ? hidden('return', options.returnTo) : ''}<input type="hidden" name="response">
${options.name ? '<label for="key-name">Name for this key (optional)</label>\n<input id="key-name" name="name" maxlength="64" placeholder="Security key">\n' : ''}<p class="error" role="alert" hidden></p>
<button type="submit"${options.secondary ? ' class="secondary"' : ''}>${escapeHtml(options.label)}</button>
</form>`;
}

export function secondFactorPage(options: { orgName: string; action: string; methods: readonly string[]; error?: string }): string {
  const key = options.methods.includes('webauthn');
  const totp = options.methods.includes('totp');
  return page(
    `Verify it's you — ${options.orgName}`,
    `<h1>Verify it's you</h1>
${error(options.error)}
${key ? webauthnForm({ id: 'security-key', label: 'Use your security key or passkey', optionsUrl: `${options.action}/webauthn/options`, action: `${options.action}/webauthn`, ceremony: 'get' }) : ''}
<form method="post" action="${escapeHtml(options.action)}/mfa">
${key ? '<p class="or">or</p>\n' : ''}<label for="code">${totp ? 'The 6-digit code from your authenticator app, or a recovery code' : 'A recovery code'}</label>
<input id="code" name="code" autocomplete="one-time-code" required${key ? '' : ' autofocus'}>
<button type="submit"${key ? ' class="secondary"' : ''}>Verify</button>
</form>`,
    { script: key },
  );
}

/** A user the policy asks for a second factor, who has none: choose one and set it up. */
export function enrollmentPage(options: { orgName: string; action: string; optional: boolean; until: string | null; error?: string }): string {
  const period = options.optional && options.until ? ` You can put this off until ${escapeHtml(new Date(options.until).toUTCString())}.` : '';
  return page(
    `Set up two-step verification — ${options.orgName}`,
    `<h1>Set up two-step verification</h1>
${error(options.error)}
<p>${escapeHtml(options.orgName)} asks for a second step when you sign in.${period}</p>
<form method="post" action="${escapeHtml(options.action)}/totp">
<button type="submit">Use an authenticator app</button>
</form>
${webauthnForm({ id: 'security-key', label: 'Use a security key or passkey', optionsUrl: `${options.action}/webauthn/options`, action: `${options.action}/webauthn`, ceremony: 'create', secondary: true, name: true })}
${options.optional ? `<form method="post" action="${escapeHtml(options.action)}/skip"><button type="submit" class="secondary">Not now</button></form>` : ''}`,
    { script: true },
  );
}

/** The authenticator app's enrollment: the QR code (an SVG made here), the secret to type instead, and the first code. */
export function totpEnrollmentPage(options: { orgName: string; action: string; qrSvg: string; secret: string; error?: string }): string {
  const grouped = options.secret.replace(/(.{4})/g, '$1 ').trim();
  return page(
    `Authenticator app — ${options.orgName}`,
    `<h1>Scan this code</h1>
${error(options.error)}
<p>Scan it with your authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, …).</p>
<div class="qr" role="img" aria-label="QR code of the secret below">${options.qrSvg}</div>
<p>Or enter this key: <code>${escapeHtml(grouped)}</code></p>
<form method="post" action="${escapeHtml(options.action)}">
<label for="code">The 6-digit code the app shows</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus>
<button type="submit">Verify and finish</button>
</form>`,
  );
}

/** Recovery codes, shown once, after a first second factor was set up. */
export function recoveryCodesPage(options: { orgName: string; codes: readonly string[]; continueTo: string }): string {
  return page(
    `Recovery codes — ${options.orgName}`,
    `<h1>Save your recovery codes</h1>
<p>If you lose your authenticator or key, each of these codes signs you in once. Keep them somewhere safe; they are not shown again.</p>
<ol class="codes">${options.codes.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ol>
<p><a class="button" href="${escapeHtml(options.continueTo)}">I have saved them — continue</a></p>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
