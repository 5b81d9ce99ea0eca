import type { RouteObject } from 'react-router';
import { KeyedById } from '../resources/common';
import '../resources/resources.css';
import { AdministratorDetail } from './AdministratorDetail';
import { Administrators } from './Administrators';
import { ApiKeys } from './ApiKeys';
import { AuditLog } from './AuditLog';
import { Settings } from './Settings';

export const securityRoutes: RouteObject[] = [
  { path: 'administrators', element: <Administrators /> },
  { path: 'administrators/:id', element: <KeyedById page={AdministratorDetail} /> },
  { path: 'api-keys', element: <ApiKeys /> },
  { path: 'audit', element: <AuditLog /> },
  { path: 'settings', element: <Settings /> },
];
