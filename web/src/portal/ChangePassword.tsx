import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../shared/api';
import { Alert, Button, PageHeader, TextField, Time } from '../shared/ui';
import { signInAgain, useMe, type Me } from './Portal';

/** The policy's rules, each with whether the typed password meets it (checked as you type; the server decides). */
function rules(policy: Me['passwordPolicy'], password: string, username: string): { text: string; met: boolean }[] {
  const out = [{ text: `At least ${policy.minLength} characters`, met: [...password].length >= policy.minLength }];
  if (policy.needsLowercase) out.push({ text: 'A lowercase letter', met: /\p{Ll}/u.test(password) });
  if (policy.needsUppercase) out.push({ text: 'An uppercase letter', met: /\p{Lu}/u.test(password) });
  if (policy.needsNumeric) out.push({ text: 'A number', met: /\p{Nd}/u.test(password) });
  if (policy.needsSymbolic) out.push({ text: 'A symbol', met: /[^\p{L}\p{Nd}\s]/u.test(password) });
  if (!policy.allowUsernameSubstring) out.push({ text: 'Does not contain your username', met: password !== '' && !password.toLowerCase().includes(username.toLowerCase()) });
  return out;
}

/** Change password: the organization's policy, checked as you type; a connected directory's refusal shown as it gave it. */
export function ChangePassword() {
  const me = useMe().data;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error>();
  const [done, setDone] = useState(false);
  const checks = rules(me.passwordPolicy, next, me.user.username);
  const mismatch = again !== '' && again !== next;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.post('/api/self/password', { currentPassword: current, newPassword: next }, { quiet401: true });
      setDone(true);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <>
        <PageHeader title="Password changed" />
        <Alert kind="success" title="Your password is changed.">
          You were signed out everywhere. Sign in again with your new password.
        </Alert>
        <Button variant="primary" onClick={() => signInAgain(me.organization.id, '/portal/')}>
          Sign in again
        </Button>
      </>
    );
  }

  const apiError = error instanceof ApiError ? error : undefined;
  const refusedByDirectory = apiError?.reason === 'PASSWORD_REFUSED_BY_DIRECTORY';
  const managedByDirectory = apiError?.reason === 'PASSWORD_MANAGED_BY_DIRECTORY';
  const fieldError = (field: string) => apiError?.details.filter((d) => d.field === field).map((d) => d.message).join('; ') || undefined;

  return (
    <>
      <PageHeader title="Change password" description={me.user.passwordExpirationDate ? <>Your password expires <Time iso={me.user.passwordExpirationDate} />.</> : undefined} />
      <div className="grid-2">
        <form className="card" onSubmit={submit} noValidate>
          {refusedByDirectory && (
            <Alert kind="error" title="A directory your account is connected to refused this password.">
              {apiError.message} Choose another password that meets that directory's rules too.
            </Alert>
          )}
          {managedByDirectory && (
            <Alert kind="warning" title="Your password is managed by another directory.">
              {apiError.message}
            </Alert>
          )}
          {error && !refusedByDirectory && !managedByDirectory && <Alert kind="error">{error.message}</Alert>}
          <TextField label="Current password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} error={fieldError('currentPassword')} />
          <TextField label="New password" type="password" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.target.value)} error={fieldError('password') ?? fieldError('newPassword')} aria-describedby="password-rules" />
          <TextField label="New password again" type="password" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.target.value)} error={mismatch ? 'The two new passwords differ.' : undefined} />
          <Button type="submit" variant="primary" busy={busy} disabled={!current || !next || !again || mismatch}>
            Change password
          </Button>
        </form>
        <section className="card" aria-labelledby="rules-title">
          <h2 id="rules-title">Your organization's password rules</h2>
          <ul id="password-rules" className="rules">
            {checks.map((r) => (
              <li key={r.text} className={r.met ? 'rule-met' : 'rule-unmet'}>
                <span aria-hidden="true">{r.met ? '✓' : '○'}</span> {r.text}
                <span className="visually-hidden">{r.met ? ' (met)' : ' (not yet met)'}</span>
              </li>
            ))}
          </ul>
          {me.passwordPolicy.maxHistory > 0 && <p className="muted">It may not be one of your last {me.passwordPolicy.maxHistory} passwords.</p>}
          {me.passwordPolicy.passwordExpirationInDays > 0 && <p className="muted">Passwords expire after {me.passwordPolicy.passwordExpirationInDays} days.</p>}
          <p className="muted">Connected directories (such as Active Directory) may have rules of their own.</p>
        </section>
      </div>
    </>
  );
}
