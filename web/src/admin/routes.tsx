import type { RouteObject } from 'react-router';
import { Account } from './pages/Account';
import { directoryRoutes } from './pages/directories';
import { GroupDetail } from './pages/GroupDetail';
import { Groups } from './pages/Groups';
import { applicationRoutes, radiusRoutes } from './pages/resources';
import { securityRoutes } from './pages/security';
import { UserDetail } from './pages/UserDetail';
import { Users } from './pages/Users';

export type NavItem = { section: string } | { to: string; label: string; icon: string; permission: string };

/** The side navigation; an entry shows only when the administrator's role may read what it lists. */
export const NAV: NavItem[] = [
  { section: 'Directory' },
  { to: '/admin/users', label: 'Users', icon: 'users', permission: 'users:read' },
  { to: '/admin/groups', label: 'User groups', icon: 'groups', permission: 'groups:read' },
  { section: 'Access' },
  { to: '/admin/applications', label: 'Applications', icon: 'apps', permission: 'applications:read' },
  { to: '/admin/directories', label: 'Directories', icon: 'directories', permission: 'directories:read' },
  { to: '/admin/radius', label: 'RADIUS', icon: 'radius', permission: 'radius:read' },
  { section: 'Security' },
  { to: '/admin/administrators', label: 'Administrators', icon: 'admins', permission: 'admins:read' },
  { to: '/admin/api-keys', label: 'API keys', icon: 'keys', permission: 'apikeys:read' },
  { to: '/admin/audit', label: 'Audit log', icon: 'audit', permission: 'journal:read' },
  { to: '/admin/settings', label: 'Settings', icon: 'lock', permission: 'organization:read' },
];

/** Every page, relative to /admin. */
export const adminRoutes: RouteObject[] = [
  { path: 'users', element: <Users /> },
  { path: 'users/:id', element: <UserDetail /> },
  { path: 'groups', element: <Groups /> },
  { path: 'groups/:id', element: <GroupDetail /> },
  { path: 'account', element: <Account /> },
  ...directoryRoutes,
  ...applicationRoutes,
  ...radiusRoutes,
  ...securityRoutes,
];
