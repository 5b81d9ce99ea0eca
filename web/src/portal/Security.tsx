import { useState, type FormEvent } from 'react';
import { api } from '../shared/api';
import { Alert, Badge, Button, ConfirmDialog, DataTable, ErrorAlert, PageHeader, QrCode, TextField, Time } from '../shared/ui';
import { useMe } from './Portal';

/** Recovery codes, shown once, to print or copy. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <section className="card" aria-labelledby="codes-title">
      <h2 id="codes-title">Your recovery codes</h2>
      <Alert kind="warning">Save these codes somewhere safe now: they are shown only once. Each one signs you in once if you lose your authenticator app or security key.</Alert>
      <ul className="codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      <div className="form-actions">
        <Button onClick={() => void navigator.clipboard?.writeText(codes.join('\n')).catch(() => undefined)}>Copy</Button>
        <Button variant="primary" onClick={onDone}>
          I have saved them
        </Button>
      </div>
    </section>
  );
}

type CredentialJson = Record<string, unknown>;
interface WebAuthnStatics {
  parseCreationOptionsFromJSON?: (options: unknown) => PublicKeyCredentialCreationOptions;
}

/** Creates a security key or passkey in the browser from the server's options (WebAuthn Level 3 JSON helpers). */
async function createCredential(options: unknown): Promise<CredentialJson> {
  const statics = window.PublicKeyCredential as unknown as WebAuthnStatics | undefined;
  if (!statics?.parseCreationOptionsFromJSON) throw new Error('This browser cannot register security keys or passkeys. Use a current browser.');
  const credential = (await navigator.credentials.create({ publicKey: statics.parseCreationOptionsFromJSON(options) })) as PublicKeyCredential | null;
  if (!credential) throw new Error('No security key or passkey was created.');
  return credential.toJSON() as unknown as CredentialJson;
}

/** Two-step verification: the authenticator app, security keys and passkeys, recovery codes. */
export function Security() {
  const me = useMe();
  const { mfa } = me.data;
  const [totp, setTotp] = useState<{ secret: string; qrSvg: string }>();
  const [code, setCode] = useState('');
  const [keyName, setKeyName] = useState('');
  const [codes, setCodes] = useState<string[]>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState<{ title: string; body: string; label: string; run: () => Promise<unknown> }>();

  const attempt = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const startTotp = () => attempt(async () => setTotp(await api.post<{ secret: string; qrSvg: string }>('/api/self/totp')));
  const confirmTotp = (e: FormEvent) => {
    e.preventDefault();
    return attempt(async () => {
      const answer = await api.post<{ recoveryCodes?: string[] }>('/api/self/totp/confirm', { code });
      setTotp(undefined);
      setCode('');
      setNotice('Your authenticator app is set up.');
      if (answer.recoveryCodes) setCodes(answer.recoveryCodes);
      me.reload();
    });
  };
  const addKey = (e: FormEvent) => {
    e.preventDefault();
    return attempt(async () => {
      const { options } = await api.post<{ options: unknown }>('/api/self/webauthn/options');
      const response = await createCredential(options);
      const answer = await api.post<{ recoveryCodes?: string[] }>('/api/self/webauthn', { response, ...(keyName.trim() ? { name: keyName.trim() } : {}) });
      setKeyName('');
      setNotice('Your security key is added.');
      if (answer.recoveryCodes) setCodes(answer.recoveryCodes);
      me.reload();
    });
  };
  const hasFactor = mfa.totp || mfa.webauthn.length > 0;

  return (
    <>
      <PageHeader
        title="Two-step verification"
        description={mfa.required ? 'Your organization requires a second step when you sign in.' : 'A second step at sign-in keeps your account safe even if your password leaks.'}
      />
      {notice && <Alert kind="success">{notice}</Alert>}
      <ErrorAlert error={error} />
      {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(undefined)} />}

      <section className="card" aria-labelledby="totp-title">
        <h2 id="totp-title">Authenticator app</h2>
        <p>{mfa.totp ? <Badge kind="good">Set up</Badge> : <Badge>Not set up</Badge>}</p>
        {!mfa.totp && !totp && (
          <Button variant="primary" busy={busy} onClick={startTotp}>
            Set up an authenticator app
          </Button>
        )}
        {totp && (
          <form onSubmit={confirmTotp}>
            <p>Scan this code with an authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password), or type the key. Then enter the 6-digit code it shows.</p>
            <QrCode svg={totp.qrSvg} alt="QR code to scan with your authenticator app" />
            <p>
              Key: <code data-testid="totp-secret">{totp.secret}</code>
            </p>
            <TextField label="Code from the app" inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code} onChange={(e) => setCode(e.target.value)} autoFocus />
            <div className="form-actions">
              <Button type="submit" variant="primary" busy={busy} disabled={code.trim().length < 6}>
                Verify and turn on
              </Button>
              <Button onClick={() => setTotp(undefined)}>Cancel</Button>
            </div>
          </form>
        )}
        {mfa.totp && (
          <Button onClick={() => setConfirm({ title: 'Remove your authenticator app?', body: 'Sign-ins will no longer accept its codes.', label: 'Remove', run: () => api.delete('/api/self/totp').then(() => me.reload()) })}>
            Remove
          </Button>
        )}
      </section>

      <section className="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Security keys and passkeys</h2>
        <DataTable
          caption="Your security keys and passkeys"
          rows={mfa.webauthn}
          rowKey={(k) => k.id}
          empty="None yet."
          columns={[
            { header: 'Name', cell: (k) => k.name },
            { header: 'Kind', cell: (k) => (k.deviceType === 'multiDevice' ? 'Passkey (synced)' : 'Security key') },
            { header: 'Added', cell: (k) => <Time iso={k.created} /> },
            { header: 'Last used', cell: (k) => <Time iso={k.lastUsedAt} relative /> },
            {
              header: <span className="visually-hidden">Actions</span>,
              cell: (k) => (
                <Button variant="ghost" aria-label={`Remove ${k.name}`} onClick={() => setConfirm({ title: `Remove ${k.name}?`, body: 'It will no longer sign you in.', label: 'Remove', run: () => api.delete(`/api/self/webauthn/${encodeURIComponent(k.id)}`).then(() => me.reload()) })}>
                  Remove
                </Button>
              ),
            },
          ]}
        />
        <form className="toolbar" onSubmit={addKey}>
          <TextField label="Name for the new key" placeholder="e.g. YubiKey, laptop" value={keyName} onChange={(e) => setKeyName(e.target.value)} maxLength={64} />
          <Button type="submit" busy={busy}>
            Add a security key or passkey
          </Button>
        </form>
      </section>

      <section className="card" aria-labelledby="recovery-title">
        <h2 id="recovery-title">Recovery codes</h2>
        <p>{hasFactor ? `${mfa.recoveryCodes.remaining} of ${mfa.recoveryCodes.total} codes left.` : 'Set up an authenticator app or a security key first.'}</p>
        {hasFactor && (
          <Button onClick={() => setConfirm({ title: 'Make new recovery codes?', body: 'Your current codes stop working.', label: 'Make new codes', run: () => api.post<{ codes: string[] }>('/api/self/recoverycodes').then((r) => (setCodes(r.codes), me.reload())) })}>
            Make new recovery codes
          </Button>
        )}
      </section>

      {confirm && (
        <ConfirmDialog open title={confirm.title} confirmLabel={confirm.label} onClose={() => setConfirm(undefined)} onConfirm={confirm.run}>
          <p>{confirm.body}</p>
        </ConfirmDialog>
      )}
    </>
  );
}
