import { startTestRoster, type TestRoster } from './test-roster.js';

const RADIUS_LINE = /RADIUS service on \S+ UDP (\d+) \(authentication\) and (\d+) \(accounting\)/;

export interface RadiusRoster extends TestRoster {
  authPort: number;
  acctPort: number;
  /** POST /api/radiusservers; returns the new server's id. */
  createRadiusServer(body: Record<string, unknown>): Promise<string>;
  updateRadiusServer(id: string, body: Record<string, unknown>): Promise<void>;
  /** Associates a user or group with a RADIUS server. */
  connect(serverId: string, type: 'user' | 'user_group', id: string): Promise<void>;
  disconnect(serverId: string, type: 'user' | 'user_group', id: string): Promise<void>;
}

/** The real `roster serve` (test-roster.ts) with its RADIUS listeners on random UDP ports. */
export async function startRadiusRoster(env: NodeJS.ProcessEnv = {}): Promise<RadiusRoster> {
  const base = await startTestRoster({ prefix: 'roster-radius-', orgName: 'RADIUS E2E', domain: 'radius-e2e.test', env, ready: RADIUS_LINE });
  const [, auth, acct] = RADIUS_LINE.exec(base.process.stdout())!;
  const { must } = base;
  const associate = (op: 'add' | 'remove') => async (serverId: string, type: 'user' | 'user_group', id: string) => {
    await must('POST', `/api/v2/radiusservers/${serverId}/associations`, { op, type, id }, 204);
  };
  return {
    ...base,
    authPort: Number(auth),
    acctPort: Number(acct),
    async createRadiusServer(body) {
      return (await must<{ _id: string }>('POST', '/api/radiusservers', body, 200))._id;
    },
    async updateRadiusServer(id, body) {
      await must('PUT', `/api/radiusservers/${id}`, body, 200);
    },
    connect: associate('add'),
    disconnect: associate('remove'),
  };
}
