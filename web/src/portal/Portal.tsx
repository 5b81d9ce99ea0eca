import { createContext, useContext, useEffect, useRef } from 'react';
import { createBrowserRouter, Navigate, NavLink, Outlet, RouterProvider, useLocation } from 'react-router';
import { api, onSignedOut } from '../shared/api';
import { Icon } from '../shared/icons';
import { Button, Loaded, Spinner, useAsync, type Async } from '../shared/ui';
import { Applications } from './Applications';
import { ChangePassword } from './ChangePassword';
import { Security } from './Security';

export interface Me {
  user: { id: string; username: string; email: string; firstname: string; lastname: string; displayName: string; passwordExpirationDate: string | null };
  organization: { id: string; displayName: string };
  passwordPolicy: {
    minLength: number;
    needsLowercase: boolean;
    needsUppercase: boolean;
    needsNumeric: boolean;
    needsSymbolic: boolean;
    allowUsernameSubstring: boolean;
    maxHistory: number;
    passwordExpirationInDays: number;
  };
  mfa: {
    required: boolean;
    exemptUntil: string | null;
    totp: boolean;
    webauthn: { id: string; name: string; created: string; lastUsedAt: string | null; deviceType: string }[];
    recoveryCodes: { total: number; remaining: number; created: string | null };
  };
}

const MeContext = createContext<Async<Me> | null>(null);

export function useMe(): Async<Me> & { data: Me } {
  const me = useContext(MeContext);
  if (!me?.data) throw new Error('useMe outside the portal');
  return me as Async<Me> & { data: Me };
}

/** Where to sign in again: the organization's sign-in page, coming back to where the user was. */
export function signInAgain(orgId: string, returnTo = window.location.pathname) {
  window.location.assign(`/sso/${orgId}/sign-in?return=${encodeURIComponent(returnTo)}`);
}

async function signOut(orgId: string) {
  await fetch('/sso/sign-out', { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: '{}', credentials: 'same-origin' }).catch(() => undefined);
  signInAgain(orgId, '/portal/');
}

/** As the admin portal's: focus goes to the new page's heading after an in-app navigation. */
function FocusOnNavigate() {
  const location = useLocation();
  // The page focus was last placed for (at first, the page loaded): it is not moved twice.
  const last = useRef(location.pathname);
  useEffect(() => {
    if (last.current === location.pathname) return;
    const heading = document.getElementById('page-title');
    if (!heading) return;
    last.current = location.pathname;
    heading.focus();
  }, [location.pathname]);
  return null;
}

function Layout() {
  const me = useMe().data;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="portal-top">
        <span className="brand">
          <Icon name="logo" size={24} /> {me.organization.displayName}
        </span>
        <nav className="nav portal-nav" aria-label="User portal">
          <NavLink to="/portal/applications">My applications</NavLink>
          <NavLink to="/portal/password">Password</NavLink>
          <NavLink to="/portal/security">Two-step verification</NavLink>
        </nav>
        <div className="page-actions">
          <span className="muted">{me.user.displayName}</span>
          <Button variant="ghost" onClick={() => void signOut(me.organization.id)}>
            Sign out
          </Button>
        </div>
      </header>
      <main className="portal-main" id="main">
        <FocusOnNavigate />
        <Outlet />
      </main>
    </>
  );
}

const router = createBrowserRouter([
  {
    path: '/portal',
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/portal/applications" replace /> },
      { path: 'applications', element: <Applications /> },
      { path: 'password', element: <ChangePassword /> },
      { path: 'security', element: <Security /> },
      { path: '*', element: <Navigate to="/portal/applications" replace /> },
    ],
  },
  { path: '*', element: <Navigate to="/portal/applications" replace /> },
]);

/** The user portal: the signed-in user's applications, password and second factors. */
export function Portal() {
  const me = useAsync((signal) => api.get<Me>('/api/self', { signal, quiet401: true }), []);
  useEffect(
    () =>
      onSignedOut(() => {
        const org = me.data?.organization.id;
        if (org) signInAgain(org);
        else window.location.reload();
      }),
    [me.data],
  );
  useEffect(() => {
    // The session ended between the page and this call: the server sends the browser to sign in.
    if ((me.error as { status?: number } | undefined)?.status === 401) window.location.reload();
  }, [me.error]);
  if (me.data === undefined && me.error === undefined) {
    return (
      <main className="centered">
        <Spinner />
      </main>
    );
  }
  return (
    <MeContext.Provider value={me}>
      <Loaded state={me}>{() => <RouterProvider router={router} />}</Loaded>
    </MeContext.Provider>
  );
}
