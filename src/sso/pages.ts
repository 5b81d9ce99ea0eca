/** The sign-in pages: plain HTML forms, every value escaped, no script. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f6f8;display:flex;justify-content:center;padding-top:10vh;margin:0}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);width:20rem}
h1{font-size:1.25rem;margin-top:0}label{display:block;margin:.75rem 0 .25rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1rem;width:100%;padding:.6rem;font-size:1rem}
.error{color:#9e2f00;background:#fff1ec;padding:.5rem;border-radius:4px}
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
<input id="username" name="username" autocomplete="username" required autofocus value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function secondFactorPage(options: { orgName: string; action: string; error?: string }): string {
  return page(
    `Verification code — ${options.orgName}`,
    `<h1>Verification code</h1>
${error(options.error)}
<form method="post" action="${escapeHtml(options.action)}">
<label for="code">The 6-digit code from your authenticator app, or a recovery code</label>
<input id="code" name="code" autocomplete="one-time-code" required autofocus>
<button type="submit">Verify</button>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
