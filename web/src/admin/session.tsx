import { createContext, useContext } from 'react';

export interface AdminSessionInfo {
  admin: { id: string; email: string; firstname: string; lastname: string; roleName: string };
  organization: string;
  organizations: { id: string; displayName: string }[];
  permissions: string[];
  mfa: { enabled: boolean; required: boolean };
}

export interface SessionState extends AdminSessionInfo {
  /** Whether the administrator's role allows a permission (as `users:write`). */
  can: (permission: string) => boolean;
  reload: () => void;
  signOut: () => Promise<void>;
  switchOrganization: (id: string) => void;
}

export const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in app');
  return s;
}
