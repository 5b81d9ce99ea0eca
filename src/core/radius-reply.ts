import { isIPv4 } from 'node:net';

/**
 * RADIUS reply attributes a user group may carry (`attributes.radius.reply: [{ name, value }]`,
 * JumpCloud's shape), with FreeRADIUS dictionary names and values. Tunnel attributes take an
 * optional tag: "Tunnel-Type:1" (RFC 2868 §3.1).
 */
type Kind = 'text' | 'integer' | 'ipv4';

interface Definition {
  type: number;
  kind: Kind;
  tagged?: boolean;
  /** Named values of an enumerated integer. */
  values?: Record<string, number>;
  /** May appear more than once in one Access-Accept. */
  multiple?: boolean;
}

const DICTIONARY: Record<string, Definition> = {
  'service-type': {
    type: 6,
    kind: 'integer',
    values: { 'login-user': 1, 'framed-user': 2, 'callback-login-user': 3, 'callback-framed-user': 4, 'outbound-user': 5, 'administrative-user': 6, 'nas-prompt-user': 7 },
  },
  'framed-protocol': { type: 7, kind: 'integer', values: { ppp: 1, slip: 2 } },
  'framed-ip-address': { type: 8, kind: 'ipv4' },
  'framed-ip-netmask': { type: 9, kind: 'ipv4' },
  'filter-id': { type: 11, kind: 'text', multiple: true },
  'framed-mtu': { type: 12, kind: 'integer' },
  'reply-message': { type: 18, kind: 'text', multiple: true },
  class: { type: 25, kind: 'text', multiple: true },
  'session-timeout': { type: 27, kind: 'integer' },
  'idle-timeout': { type: 28, kind: 'integer' },
  'termination-action': { type: 29, kind: 'integer', values: { default: 0, 'radius-request': 1 } },
  'tunnel-type': { type: 64, kind: 'integer', tagged: true, values: { pptp: 1, l2f: 2, l2tp: 3, atmp: 4, vtp: 5, ah: 6, 'ip-ip': 7, 'min-ip-ip': 8, esp: 9, gre: 10, dvs: 11, 'ip-in-ip': 12, vlan: 13 } },
  'tunnel-medium-type': { type: 65, kind: 'integer', tagged: true, values: { ipv4: 1, 'ip': 1, ipv6: 2, nsap: 3, hdlc: 4, bbn: 5, 'ieee-802': 6, e163: 7, e164: 8, f69: 9, x121: 10, ipx: 11, appletalk: 12, decnet: 13, 'banyan-vines': 14, e164nsap: 15 } },
  'acct-interim-interval': { type: 85, kind: 'integer' },
  'tunnel-private-group-id': { type: 81, kind: 'text', tagged: true },
  'framed-pool': { type: 88, kind: 'text' },
};

/** Attributes that only make sense together: one group supplies all of them (a VLAN assignment). */
export const TUNNEL_TYPES: ReadonlySet<number> = new Set([64, 65, 81]);

export interface ReplyAttribute {
  /** The RADIUS attribute type. */
  type: number;
  name: string;
  tag?: number;
  value: string | number;
  kind: Kind;
  multiple: boolean;
}

export type ReplyParse = { ok: true; attributes: ReplyAttribute[] } | { ok: false; errors: string[] };

/** Checks a group's `attributes.radius.reply` list; the errors say which entry is wrong and why. */
export function parseReplyAttributes(input: unknown): ReplyParse {
  if (input === undefined || input === null) return { ok: true, attributes: [] };
  if (!Array.isArray(input)) return { ok: false, errors: ['radius.reply must be an array of { name, value }'] };
  const errors: string[] = [];
  const attributes: ReplyAttribute[] = [];
  input.forEach((entry: unknown, i) => {
    const where = `radius.reply[${i}]`;
    if (typeof entry !== 'object' || entry === null) return errors.push(`${where} must be an object with name and value`);
    const { name, value } = entry as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || (typeof value !== 'string' && typeof value !== 'number')) {
      return errors.push(`${where} needs a string name and a string or number value`);
    }
    const [base, tagText, extra] = name.trim().split(':');
    const definition = DICTIONARY[base!.toLowerCase()];
    if (!definition || extra !== undefined) return errors.push(`${where}: unknown or unsupported attribute "${name}"`);
    let tag: number | undefined;
    if (tagText !== undefined) {
      tag = Number(tagText);
      if (!definition.tagged || !Number.isInteger(tag) || tag < 1 || tag > 31) return errors.push(`${where}: "${name}" has an invalid tag (1–31, tunnel attributes only)`);
    }
    const text = String(value).trim();
    let parsed: string | number;
    if (definition.kind === 'integer') {
      const named = definition.values?.[text.toLowerCase()];
      parsed = named ?? Number(text);
      if (!/^\d+$/.test(text) && named === undefined) return errors.push(`${where}: "${value}" is not a valid value for ${base}`);
      if (!Number.isInteger(parsed) || parsed < 0 || parsed > (definition.tagged ? 0xffffff : 0xffffffff)) {
        return errors.push(`${where}: ${value} is out of range for ${base}`);
      }
    } else if (definition.kind === 'ipv4') {
      if (!isIPv4(text)) return errors.push(`${where}: "${value}" is not an IPv4 address`);
      parsed = text;
    } else {
      const bytes = Buffer.byteLength(text);
      if (bytes === 0 || bytes > (definition.tagged ? 252 : 253)) return errors.push(`${where}: ${base} must be 1–253 octets`);
      parsed = text;
    }
    attributes.push({
      type: definition.type,
      name: base!,
      value: parsed,
      kind: definition.kind,
      multiple: definition.multiple === true,
      ...(tag !== undefined ? { tag } : {}),
    });
    return undefined;
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, attributes };
}

/**
 * The reply attributes of a user from the groups that grant them the RADIUS server, ordered from
 * the oldest group to the newest. Repeatable attributes (Class, Reply-Message, Filter-Id) come
 * from every group, once per distinct value; for the others the newest group wins (JumpCloud's
 * rule), and the tunnel attributes of a VLAN assignment all come from that one newest group.
 */
export function mergeReplyAttributes(groupsOldestFirst: readonly (readonly ReplyAttribute[])[]): ReplyAttribute[] {
  const repeated: ReplyAttribute[] = [];
  const seen = new Set<string>();
  const single = new Map<number, ReplyAttribute>();
  let tunnel: readonly ReplyAttribute[] = [];
  for (const attributes of groupsOldestFirst) {
    const tunnelHere = attributes.filter((a) => TUNNEL_TYPES.has(a.type));
    if (tunnelHere.length > 0) tunnel = tunnelHere;
    for (const a of attributes) {
      if (TUNNEL_TYPES.has(a.type)) continue;
      if (a.multiple) {
        const key = `${a.type}\u0000${a.value}`;
        if (!seen.has(key)) {
          seen.add(key);
          repeated.push(a);
        }
      } else single.set(a.type, a);
    }
  }
  return [...repeated, ...single.values(), ...tunnel];
}
