import { createHash } from 'node:crypto';
import type { Deps } from './deps.js';

/** Longest message ID recorded (an xs:ID the front-end accepts is at most 256 characters); longer ones are refused. */
const MAX_ID_LENGTH = 256;
/** Issuers longer than this (in UTF-8) are recorded by digest, which keeps index entries small on PostgreSQL. */
const MAX_ISSUER_BYTES = 512;

const issuerKey = (issuer: string) => (Buffer.byteLength(issuer, 'utf8') <= MAX_ISSUER_BYTES ? issuer : `sha256:${createHash('sha256').update(issuer).digest('hex')}`);

/**
 * SAML AuthnRequest IDs seen recently, per issuer, in the store: every process sharing the store
 * refuses a request whose ID another process already accepted. The sso/ front-end keeps a
 * per-process cache in front of it, which only spares the store a lookup.
 */
export class SamlReplayService {
  constructor(private readonly deps: Deps) {}

  /**
   * Records the ID of a request from `issuer` for `windowMs` (which must cover the whole window in
   * which the request counts as fresh); false when it was already recorded and is still
   * remembered: a replay.
   */
  firstUse(issuer: string, id: string, windowMs: number): Promise<boolean> {
    if (id.length === 0 || id.length > MAX_ID_LENGTH) return Promise.resolve(false);
    const now = this.deps.clock();
    return this.deps.store.read.samlReplay.checkAndRecord(issuerKey(issuer), id, new Date(now.getTime() + windowMs).toISOString(), now.toISOString());
  }

  /** Forgets IDs whose window has passed. */
  prune(): Promise<number> {
    return this.deps.store.read.samlReplay.prune(this.deps.clock().toISOString());
  }
}
