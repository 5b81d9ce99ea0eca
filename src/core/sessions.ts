import { createHash, randomBytes } from 'node:crypto';

/** How long browser sessions last: users' (single sign-on, the user portal) and administrators' (the admin portal). */
export interface SessionPolicy {
  /** A session unused this long ends. */
  idleMinutes: number;
  /** A session ends this long after sign-in, used or not. */
  maxHours: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMinutes: 30, maxHours: 12 };

/** The idle timeout moves forward at most this often, sparing a write per request. */
const TOUCH_EVERY_MS = 60_000;

/** A session's times, as both kinds of session keep them. */
export interface SessionTimes {
  created: string;
  lastSeen: string;
  idleExpires: string;
  expires: string;
  revokedAt: string | null;
}

/** What identifies a session: only the SHA-256 of its token is stored. */
export const sessionIdOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new session token: a recognisable prefix and 256 random bits; and its stored id. */
export function newSessionToken(prefix: string): { token: string; id: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { token, id: sessionIdOf(token) };
}

/** Whether `token` can be one of ours at all, before any lookup. */
export const plausibleToken = (token: string, prefix: string) => token.startsWith(prefix) && token.length <= 100;

/** The times of a session opened at `now`. */
export function openedTimes(now: Date, policy: SessionPolicy): SessionTimes {
  return {
    created: now.toISOString(),
    lastSeen: now.toISOString(),
    idleExpires: new Date(now.getTime() + policy.idleMinutes * 60_000).toISOString(),
    expires: new Date(now.getTime() + policy.maxHours * 3_600_000).toISOString(),
    revokedAt: null,
  };
}

/** Whether a session is still good at `now`: not revoked, past neither timeout. */
export function isLive(s: SessionTimes, now: Date): boolean {
  const at = now.getTime();
  return s.revokedAt === null && Date.parse(s.expires) > at && Date.parse(s.idleExpires) > at;
}

/**
 * The session as used at `now`: with its idle timeout moved forward (never past the absolute one)
 * when it was last seen long enough ago, and `touched` saying whether to store that; else as it was.
 */
export function seenAt<S extends SessionTimes>(s: S, now: Date, policy: SessionPolicy): { session: S; touched: boolean } {
  const at = now.getTime();
  if (at - Date.parse(s.lastSeen) < TOUCH_EVERY_MS) return { session: s, touched: false };
  const idleExpires = new Date(Math.min(at + policy.idleMinutes * 60_000, Date.parse(s.expires))).toISOString();
  return { session: { ...s, lastSeen: now.toISOString(), idleExpires }, touched: true };
}
