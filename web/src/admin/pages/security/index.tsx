import { useParams, type RouteObject } from 'react-router';
import '../resources/resources.css';
import { AdministratorDetail } from './AdministratorDetail';
import { Administrators } from './Administrators';
import { ApiKeys } from './ApiKeys';
import { AuditLog } from './AuditLog';
import { Settings } from './Settings';

/** Another administrator's page starts afresh (its form holds the state of the one it was opened for). */
function KeyedAdministrator() {
  const { id } = useParams();
  return <AdministratorDetail key={id} />;
}

export const securityRoutes: RouteObject[] = [
  { path: 'administrators', element: <Administrators /> },
  { path: 'administrators/:id', element: <KeyedAdministrator /> },
  { path: 'api-keys', element: <ApiKeys /> },
  { path: 'audit', element: <AuditLog /> },
  { path: 'settings', element: <Settings /> },
];
