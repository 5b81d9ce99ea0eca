import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../shared/api';
import { Icon } from '../../shared/icons';
import { Button, ErrorAlert, QrCode, TextField } from '../../shared/ui';

type Step = { status: 'signed_in' } | { status: 'mfa_required' } | { status: 'enrollment_required'; secret: string; otpauthUri: string; qrSvg: string };

/** The admin portal's sign-in: email and password, then the authenticator app's code (or setting one up). */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<Step>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · Roster admin';
  }, []);
  useEffect(() => {
    if (step && step.status !== 'signed_in') codeRef.current?.focus();
  }, [step]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const next = step ? await api.post<Step>('/api/session/code', { code }, { quiet401: true }) : await api.post<Step>('/api/session', { email, password }, { quiet401: true });
      if (next.status === 'signed_in') onSignedIn();
      else {
        setStep(next);
        setCode('');
      }
    } catch (e) {
      setError(e);
      if (step) setCode('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="centered">
      <div className="sign-in card">
        <div className="brand">
          <Icon name="logo" size={26} /> Roster admin
        </div>
        <form onSubmit={submit} noValidate>
          <ErrorAlert error={error} />
          {!step && (
            <>
              <h1 className="visually-hidden">Sign in</h1>
              <TextField label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
              <TextField label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </>
          )}
          {step?.status === 'mfa_required' && (
            <>
              <h1>Two-step verification</h1>
              <p className="muted">Enter the 6-digit code from your authenticator app.</p>
            </>
          )}
          {step?.status === 'enrollment_required' && (
            <>
              <h1>Set up an authenticator app</h1>
              <p className="muted">Your account requires two-step verification. Scan this code with an authenticator app, or type the key, then enter the code it shows.</p>
              <QrCode svg={step.qrSvg} alt="QR code for your authenticator app" />
              <p>
                Key: <code>{step.secret}</code>
              </p>
            </>
          )}
          {step && step.status !== 'signed_in' && (
            <TextField label="Code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]*" maxLength={6} required value={code} onChange={(e) => setCode(e.target.value)} ref={codeRef} />
          )}
          <Button type="submit" variant="primary" busy={busy}>
            {step ? 'Verify' : 'Sign in'}
          </Button>
          {step && (
            <p>
              <Button variant="ghost" onClick={() => (setStep(undefined), setError(undefined))}>
                Start over
              </Button>
            </p>
          )}
        </form>
      </div>
    </main>
  );
}
