import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createBrowserRouter, Navigate, NavLink, Outlet, RouterProvider, useLocation } from 'react-router';
import { api, ApiError, onSignedOut, setOrganization } from '../shared/api';
import { Icon } from '../shared/icons';
import { Alert, Button, ErrorAlert, Spinner } from '../shared/ui';
import { SessionContext, useSession, type AdminSessionInfo, type SessionState } from './session';
import { adminRoutes, NAV } from './routes';
import { SignIn } from './pages/SignIn';

const ORG_KEY = 'roster.admin.org';

/**
 * Moves focus to the new page's heading after an in-app navigation, so screen readers announce
 * it; a fresh page load leaves focus at the start, where "Skip to content" comes first.
 */
function FocusOnNavigate() {
  const location = useLocation();
  // The page focus was last placed for (at first, the page loaded): it is not moved twice.
  const last = useRef(location.pathname);
  useEffect(() => {
    if (last.current === location.pathname) return;
    // The new page renders its heading once its data arrives: try until then.
    let tries = 0;
    const timer = setInterval(() => {
      const heading = document.getElementById('page-title');
      if (heading) {
        last.current = location.pathname;
        heading.focus();
      }
      if (heading || ++tries > 40) clearInterval(timer);
    }, 50);
    return () => clearInterval(timer);
  }, [location.pathname]);
  return null;
}

function Layout() {
  const session = useSession();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <NavLink to="/admin/users" className="brand">
          <Icon name="logo" size={24} /> Roster
        </NavLink>
        <nav className="nav" aria-label="Admin portal">
          {NAV.map((item) =>
            'section' in item ? (
              <div key={item.section} className="nav-section" aria-hidden="true">
                {item.section}
              </div>
            ) : session.can(item.permission) ? (
              <NavLink key={item.to} to={item.to}>
                <Icon name={item.icon} /> {item.label}
              </NavLink>
            ) : null,
          )}
        </nav>
        <div className="sidebar-footer">
          {session.organizations.length > 1 && (
            <label>
              Organization{' '}
              <select className="input" value={session.organization} onChange={(e) => session.switchOrganization(e.target.value)}>
                {session.organizations.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.displayName}
                  </option>
                ))}
              </select>
            </label>
          )}
          <NavLink to="/admin/account" style={{ color: 'inherit' }}>
            {session.admin.email}
          </NavLink>
          <span>{session.admin.roleName}</span>
          <Button variant="ghost" onClick={() => void session.signOut()}>
            Sign out
          </Button>
        </div>
      </aside>
      <main className="main" id="main">
        <FocusOnNavigate />
        <Outlet />
      </main>
    </div>
  );
}

const router = createBrowserRouter([
  {
    path: '/admin',
    element: <Layout />,
    children: [{ index: true, element: <Navigate to="/admin/users" replace /> }, ...adminRoutes, { path: '*', element: <NotFound /> }],
  },
  { path: '*', element: <Navigate to="/admin/users" replace /> },
]);

function NotFound() {
  return <Alert kind="warning" title="Page not found">There is no page at this address in the admin portal.</Alert>;
}

/** The admin portal: the sign-in until there is a session, then the pages its role allows. */
export function App() {
  const [info, setInfo] = useState<AdminSessionInfo | null>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => onSignedOut(() => setInfo(null)), []);
  useEffect(() => {
    const chosen = localStorage.getItem(ORG_KEY) ?? undefined;
    setOrganization(chosen);
    api
      .get<AdminSessionInfo>('/api/session', { quiet401: true })
      .then(setInfo, (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setInfo(null);
        else if (e instanceof ApiError && e.status === 404 && chosen) {
          // The remembered organization is not this administrator's: forget it.
          localStorage.removeItem(ORG_KEY);
          reload();
        } else setError(e);
      });
  }, [tick, reload]);

  const state = useMemo<SessionState | null>(() => {
    if (!info) return null;
    const permissions = new Set(info.permissions);
    return {
      ...info,
      can: (p) => permissions.has(p),
      reload,
      signOut: async () => {
        await api.delete('/api/session').catch(() => undefined);
        setInfo(null);
      },
      switchOrganization: (id) => {
        localStorage.setItem(ORG_KEY, id);
        window.location.assign('/admin/users');
      },
    };
  }, [info, reload]);

  if (error) {
    return (
      <main className="centered">
        <ErrorAlert error={error} title="The admin portal could not start" />
      </main>
    );
  }
  if (info === undefined) {
    return (
      <main className="centered">
        <Spinner />
      </main>
    );
  }
  if (!state) return <SignIn onSignedIn={reload} />;
  return (
    <SessionContext.Provider value={state}>
      <RouterProvider router={router} />
    </SessionContext.Provider>
  );
}
