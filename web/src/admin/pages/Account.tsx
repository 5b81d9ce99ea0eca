import { useState, type FormEvent } from 'react';
import { api } from '../../shared/api';
import { Alert, Badge, Button, ConfirmDialog, ErrorAlert, PageHeader, Properties, QrCode, TextField } from '../../shared/ui';
import { useSession } from '../session';

/** The signed-in administrator's own account: who they are, and their authenticator app. */
export function Account() {
  const session = useSession();
  const [setup, setSetup] = useState<{ secret: string; qrSvg: string }>();
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [removing, setRemoving] = useState(false);
  const start = async () => {
    setError(undefined);
    try {
      setSetup(await api.post<{ secret: string; qrSvg: string }>('/api/session/totp'));
    } catch (e) {
      setError(e);
    }
  };
  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api.post('/api/session/totp/confirm', { code });
      setSetup(undefined);
      setCode('');
      setNotice('Your authenticator app is set up: sign-ins now ask for its code.');
      session.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <PageHeader title="My account" />
      {notice && <Alert kind="success">{notice}</Alert>}
      <section className="card">
        <Properties
          items={[
            ['Email', session.admin.email],
            ['Name', [session.admin.firstname, session.admin.lastname].filter(Boolean).join(' ') || '—'],
            ['Role', session.admin.roleName],
          ]}
        />
      </section>
      <section className="card">
        <h2>Two-step verification</h2>
        <p>
          Authenticator app: {session.mfa.enabled ? <Badge kind="good">On</Badge> : <Badge kind="warn">Off</Badge>} {session.mfa.required && <span className="muted">(required for your account)</span>}
        </p>
        <ErrorAlert error={error} />
        {!session.mfa.enabled && !setup && (
          <Button variant="primary" onClick={start}>
            Set up an authenticator app
          </Button>
        )}
        {setup && (
          <form onSubmit={confirm}>
            <p>Scan this code with an authenticator app, or type the key, then enter the 6-digit code it shows.</p>
            <QrCode svg={setup.qrSvg} alt="QR code for your authenticator app" />
            <p>
              Key: <code>{setup.secret}</code>
            </p>
            <TextField label="Code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code} onChange={(e) => setCode(e.target.value)} />
            <Button type="submit" variant="primary" disabled={code.length < 6}>
              Turn on
            </Button>
          </form>
        )}
        {session.mfa.enabled && !session.mfa.required && <Button onClick={() => setRemoving(true)}>Remove the authenticator app</Button>}
      </section>
      {removing && (
        <ConfirmDialog open title="Remove your authenticator app?" confirmLabel="Remove" onClose={() => setRemoving(false)} onConfirm={async () => (await api.delete('/api/session/totp'), session.reload())}>
          <p>Sign-ins will ask only for your password.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
