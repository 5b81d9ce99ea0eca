import type { RouteObject } from 'react-router';
import { ActiveDirectory } from './ActiveDirectory';
import { CloudDirectory } from './CloudDirectory';
import { Directories } from './Directories';
import { LdapService } from './LdapService';
import { ScimSource } from './ScimSource';
import './directories.css';

/** The Directories section, relative to /admin. */
export const directoryRoutes: RouteObject[] = [
  { path: 'directories', element: <Directories /> },
  { path: 'directories/ldap/:id', element: <LdapService /> },
  { path: 'directories/active-directory/:id', element: <ActiveDirectory /> },
  { path: 'directories/google-workspace/:id', element: <CloudDirectory key="g_suite" kind="g_suite" /> },
  { path: 'directories/microsoft-365/:id', element: <CloudDirectory key="office_365" kind="office_365" /> },
  { path: 'directories/scim/:id', element: <ScimSource /> },
];
