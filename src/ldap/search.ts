import { randomBytes } from 'node:crypto';
import type { LdapSettings } from '../core/ldap-settings.js';
import { BerWriter } from './ber.js';
import { isWithin, parentOf, parseDn } from './dn.js';
import type { Entry } from './entry.js';
import { evaluate, filterToString, type LdapFilter } from './filter.js';
import { normalizeForRule } from './matching.js';
import { decodePagedControl, encodeEntry, encodePagedControl, PAGED_RESULTS_OID, type Control, type Request, type Scope } from './protocol.js';
import { ldapError, ResultCode, type ResultCodeValue } from './result-codes.js';
import { attributeType } from './schema.js';
import type { LdapService, Session } from './service.js';
import type { OrgTree } from './tree.js';

type SearchRequest = Extract<Request, { op: 'search' }>;

export const NO_LONGER_ALLOWED = 'The bound account is no longer allowed to use LDAP (suspended, locked or disconnected); bind again';

/** A paged search in progress (RFC 2696): the matches of the first page's snapshot, and where the next page starts. */
interface Pager {
  key: string;
  entries: Entry[];
  position: number;
}

/** What a connection keeps between the pages of paged searches. */
export class PagerStore {
  private readonly pagers = new Map<string, Pager>();
  constructor(private readonly max = 16) {}

  take(cookie: string): Pager | undefined {
    const pager = this.pagers.get(cookie);
    this.pagers.delete(cookie);
    return pager;
  }

  put(pager: Pager): string {
    if (this.pagers.size >= this.max) this.pagers.delete(this.pagers.keys().next().value!);
    const cookie = randomBytes(12).toString('hex');
    this.pagers.set(cookie, pager);
    return cookie;
  }

  clear(): void {
    this.pagers.clear();
  }
}

export interface SearchIo {
  /** Sends a SearchResultEntry's bytes; resolves once the socket can take more. */
  sendEntry(bytes: Buffer): Promise<void> | void;
  /** True once the client abandoned this operation. */
  abandoned(): boolean;
}

export interface SearchOutcome {
  code: ResultCodeValue;
  message: string;
  matchedDn: string;
  controls: Control[];
}

/**
 * resolveBase → checkAccess → collectCandidates (indexes where the filter allows) → evaluate →
 * page / apply limits → send entries → journal (sampled).
 */
export async function search(
  service: LdapService,
  session: Session,
  pagers: PagerStore,
  id: number,
  request: SearchRequest,
  controls: Control[],
  io: SearchIo,
): Promise<SearchOutcome> {
  const started = Date.now();
  const paged = controls.find((c) => c.type === PAGED_RESULTS_OID);
  const ndn = normalizedBase(request.base);

  if (ndn === '' || ndn === service.subschema.ndn) {
    const entry = ndn === '' ? service.rootDse : service.subschema;
    if (ndn === '' && request.scope !== 'base') throw ldapError(ResultCode.noSuchObject, 'The root DSE can only be read with a base-scope search');
    const matches = evaluate(request.filter, entry) === true ? [entry] : [];
    await send(matches, id, request, io);
    return done(ResultCode.success, '', paged ? [encodePagedControl(0, Buffer.alloc(0))] : []);
  }

  if (!isWithin(ndn, service.suffixNdn)) throw ldapError(ResultCode.noSuchObject, 'No such object');
  const principal = session.principal;
  if (principal.kind !== 'user') throw ldapError(ResultCode.insufficientAccessRights, 'Anonymous search is not allowed; bind first');
  const tree = await service.tree(principal.orgId);
  if (!tree) throw ldapError(ResultCode.insufficientAccessRights, 'The organization no longer exists');
  if (!service.stillAllowed(tree, session)) throw ldapError(ResultCode.insufficientAccessRights, NO_LONGER_ALLOWED);
  const settings = service.settings(tree);
  const canSee = access(session, tree, settings);

  let entries: Entry[];
  let pager: Pager | undefined;
  const pagedRequest = paged ? decodePagedControl(paged.value) : undefined;
  if (pagedRequest && !pagedRequest.ok) throw ldapError(ResultCode.protocolError, pagedRequest.error);
  const pageKey = `${ndn}|${request.scope}|${filterToString(request.filter)}|${request.attributes.join(',')}|${request.typesOnly}`;

  if (pagedRequest && pagedRequest.value.cookie.length > 0) {
    pager = pagers.take(pagedRequest.value.cookie.toString('latin1'));
    if (!pager || pager.key !== pageKey) throw ldapError(ResultCode.unwillingToPerform, 'The paged results cookie is invalid or expired');
    entries = pager.entries;
  } else {
    const baseEntry = ndn === service.suffixNdn ? service.suffix : tree.byNdn.get(ndn);
    if (!baseEntry || !canSee(baseEntry)) {
      const inOrg = isWithin(ndn, tree.orgNdn);
      throw ldapError(ResultCode.noSuchObject, 'No such object', inOrg ? nearestAncestor(tree, ndn) : service.suffixDn);
    }
    const deadline = request.timeLimit > 0 ? started + request.timeLimit * 1000 : Infinity;
    entries = collect(service, tree, baseEntry, request.scope, request.filter, canSee, deadline);
    pager = { key: pageKey, entries, position: 0 };
  }

  const sizeLimit = request.sizeLimit > 0 ? request.sizeLimit : Infinity;
  let code: ResultCodeValue = ResultCode.success;
  let message = '';
  const responseControls: Control[] = [];
  let slice: Entry[];
  if (pagedRequest) {
    const size = pagedRequest.value.size;
    if (size === 0) {
      // RFC 2696 §3: a page size of zero abandons the paged search.
      return done(ResultCode.success, '', [encodePagedControl(0, Buffer.alloc(0))]);
    }
    slice = pager.entries.slice(pager.position, pager.position + size);
    if (pager.position + slice.length > sizeLimit) {
      slice = slice.slice(0, Math.max(0, sizeLimit - pager.position));
      code = ResultCode.sizeLimitExceeded;
      message = `Size limit of ${request.sizeLimit} exceeded`;
    }
    pager.position += slice.length;
    const more = code === ResultCode.success && pager.position < pager.entries.length;
    const cookie = more ? Buffer.from(pagers.put(pager), 'latin1') : Buffer.alloc(0);
    responseControls.push(encodePagedControl(pager.entries.length, cookie));
  } else {
    slice = entries.length > sizeLimit ? entries.slice(0, sizeLimit) : entries;
    if (slice.length < entries.length) {
      code = ResultCode.sizeLimitExceeded;
      message = `Size limit of ${request.sizeLimit} exceeded`;
    }
  }
  await send(slice, id, request, io);

  service.activity.record(
    principal.orgId,
    { type: 'user', id: principal.userId },
    {
      objectType: 'directory',
      objectId: tree.view.resource.id,
      operation: 'ldap_search',
      changes: {},
      details: { base: request.base, scope: request.scope, filter: filterToString(request.filter), entries: slice.length, result: code, ms: Date.now() - started, client: session.client },
    },
    settings.searchEventSampleRate,
  );
  return done(code, message, responseControls);
}

const baseCache = new Map<string, string>();

/** Clients search from a handful of bases, so their normalized forms are kept rather than parsed per request. */
function normalizedBase(base: string): string {
  let ndn = baseCache.get(base);
  if (ndn !== undefined) return ndn;
  const parsed = parseDn(base);
  if (!parsed.ok) throw ldapError(ResultCode.invalidDNSyntax, parsed.error);
  ndn = parsed.value.normalized;
  if (base.length > 512) return ndn;
  if (baseCache.size >= 1024) baseCache.clear();
  baseCache.set(base, ndn);
  return ndn;
}

function done(code: ResultCodeValue, message: string, controls: Control[]): SearchOutcome {
  return { code, message, matchedDn: '', controls };
}

async function send(entries: readonly Entry[], id: number, request: SearchRequest, io: SearchIo): Promise<void> {
  const key = JSON.stringify([request.attributes, request.typesOnly]);
  for (const entry of entries) {
    if (io.abandoned()) return;
    const op = entry.encodedFor(key, () => encodeEntry(0, entry.dn, entry.select(request.attributes), request.typesOnly));
    await io.sendEntry(withMessageId(id, op));
  }
}

/**
 * An encoded SearchResultEntry for message 0 re-addressed to `id`: the protocolOp is reused and
 * only the envelope is rewritten.
 */
function withMessageId(id: number, encoded: Buffer): Buffer {
  // Envelope: 0x30 len(…) 0x02 0x01 0x00 <protocolOp>
  const headerLength = encoded[1]! < 0x80 ? 2 : 2 + (encoded[1]! & 0x7f);
  const op = encoded.subarray(headerLength + 3);
  return new BerWriter(op.length + 16).start().integer(id).raw(op).end().toBuffer();
}

/** Which entries of the org this session may read (RFC 4511 leaves access control to the server). */
export function access(session: Session, tree: OrgTree, settings: LdapSettings): (entry: Entry) => boolean {
  const principal = session.principal;
  if (principal.kind !== 'user') return () => false;
  const now = Date.now();
  const hidden = (entry: Entry): boolean => {
    if (entry.kind !== 'user') return false;
    const user = tree.view.users.get(entry.objectId as never);
    if (!user) return true;
    // A lockout whose time has run out is lifted at the next login, so it no longer hides the user.
    const locked = user.accountLocked && !(user.lockedUntil && Date.parse(user.lockedUntil) <= now);
    if (settings.userLockoutAction === 'remove' && locked) return true;
    return settings.userPasswordExpirationAction === 'remove' && user.passwordExpirationDate !== null && Date.parse(user.passwordExpirationDate) <= now;
  };
  const everything = principal.binding || settings.userSearchAccess === 'all';
  return (entry) => {
    if (entry.kind === 'suffix' || entry.kind === 'org' || entry.kind === 'container') return true;
    if (hidden(entry)) return false;
    if (everything) return true;
    return settings.userSearchAccess === 'self' && entry.objectId === principal.userId;
  };
}

function nearestAncestor(tree: OrgTree, ndn: string): string {
  for (let dn = parentOf(ndn); dn !== ''; dn = parentOf(dn)) {
    const entry = tree.byNdn.get(dn);
    if (entry) return entry.dn;
  }
  return '';
}

function inScope(entryNdn: string, baseNdn: string, scope: Scope): boolean {
  switch (scope) {
    case 'base':
      return entryNdn === baseNdn;
    case 'one':
      return entryNdn !== baseNdn && parentOf(entryNdn) === baseNdn;
    case 'sub':
      return isWithin(entryNdn, baseNdn);
    case 'children':
      return entryNdn !== baseNdn && isWithin(entryNdn, baseNdn);
  }
}

function collect(
  service: LdapService,
  tree: OrgTree,
  base: Entry,
  scope: Scope,
  filter: LdapFilter,
  canSee: (entry: Entry) => boolean,
  deadline: number,
): Entry[] {
  const candidates = indexed(tree, filter) ?? scopeCandidates(service, tree, base, scope);
  const out: Entry[] = [];
  let n = 0;
  for (const entry of candidates) {
    if ((++n & 127) === 0 && Date.now() > deadline) {
      throw ldapError(ResultCode.timeLimitExceeded, 'Time limit exceeded');
    }
    if (!inScope(entry.ndn, base.ndn, scope) || !canSee(entry)) continue;
    if (evaluate(filter, entry) === true) out.push(entry);
  }
  return out;
}

function* scopeCandidates(service: LdapService, tree: OrgTree, base: Entry, scope: Scope): Iterable<Entry> {
  if (base.kind === 'suffix') {
    yield service.suffix;
    if (scope === 'base') return;
    yield tree.org;
    if (scope === 'one') return;
  }
  if (scope === 'base') {
    yield base;
    return;
  }
  const all = base.kind === 'suffix' || base.kind === 'org';
  if (all) yield tree.org;
  if (all || base === tree.usersOu) {
    yield tree.usersOu;
    yield* tree.userEntries.values();
  }
  if (all || base === tree.groupsOu) {
    yield tree.groupsOu;
    yield* tree.groupEntries.values();
  }
  if (base.kind === 'user' || base.kind === 'group') yield base;
}

/** Candidate entries from an equality index, when the filter pins an indexed attribute. */
function indexed(tree: OrgTree, filter: LdapFilter): Entry[] | undefined {
  switch (filter.type) {
    case 'equal': {
      const def = attributeType(filter.attribute);
      if (!def || filter.attribute.includes(';')) return undefined;
      const value = normalizeForRule(def.equality, filter.value);
      if (value === undefined) return [];
      return tree.lookup(def.name.toLowerCase(), value);
    }
    case 'and': {
      let best: Entry[] | undefined;
      for (const f of filter.filters) {
        const c = indexed(tree, f);
        if (c && (!best || c.length < best.length)) best = c;
      }
      return best;
    }
    case 'or': {
      const seen = new Set<Entry>();
      for (const f of filter.filters) {
        const c = indexed(tree, f);
        if (!c) return undefined;
        for (const e of c) seen.add(e);
      }
      return [...seen];
    }
    default:
      return undefined;
  }
}
