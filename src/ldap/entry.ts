import { parseDn } from './dn.js';
import type { EntryAttribute } from './protocol.js';
import type { FilterTarget } from './filter.js';
import { normalizeValue } from './matching.js';
import { attributeType, type AttributeTypeDef } from './schema.js';

export type EntryKind = 'root-dse' | 'subschema' | 'suffix' | 'org' | 'container' | 'user' | 'group';

/** Resolves in-chain membership for entries of one tree. */
export interface ChainResolver {
  chain(entry: Entry, attribute: 'member' | 'memberOf', dn: string): boolean;
}

/** One entry as the LDAP service serves it. Attributes are keyed by lower-case canonical name. */
export class Entry implements FilterTarget {
  private readonly normalizedCache = new Map<string, readonly string[]>();
  private readonly encoded = new Map<string, Buffer>();

  constructor(
    readonly kind: EntryKind,
    readonly dn: string,
    readonly ndn: string,
    /** The user or group id behind the entry. */
    readonly objectId: string | undefined,
    private readonly attrs: Map<string, EntryAttribute>,
    private resolver?: ChainResolver,
  ) {}

  useResolver(resolver: ChainResolver): void {
    this.resolver = resolver;
  }

  values(name: string): readonly string[] | undefined {
    return this.attrs.get(name)?.values;
  }

  normalized(def: AttributeTypeDef): readonly string[] | undefined {
    const key = def.name.toLowerCase();
    let cached = this.normalizedCache.get(key);
    if (cached) return cached;
    const raw = this.attrs.get(key)?.values;
    if (!raw) return undefined;
    cached = raw.map((v) => normalizeValue(def, v));
    this.normalizedCache.set(key, cached);
    return cached;
  }

  private dnParts: { type: string; value: string }[] | undefined;

  dnValues(): readonly { type: string; value: string }[] {
    if (!this.dnParts) {
      const dn = parseDn(this.dn);
      this.dnParts = dn.ok ? dn.value.rdns.flat().map((ava) => ({ type: attributeType(ava.type)?.name.toLowerCase() ?? ava.type.toLowerCase(), value: ava.value })) : [];
    }
    return this.dnParts;
  }

  attributeNames(): Iterable<string> {
    return this.attrs.keys();
  }

  chain(attribute: 'member' | 'memberOf', dn: string): boolean {
    return this.resolver?.chain(this, attribute, dn) ?? false;
  }

  /** The attributes a search asked for (RFC 4511 §4.5.1.8): names, "*", "+", or "1.1" for none. */
  select(requested: readonly string[]): EntryAttribute[] {
    let all = requested.length === 0;
    let operational = false;
    const named = new Set<string>();
    for (const r of requested) {
      if (r === '*') all = true;
      else if (r === '+') operational = true;
      else if (r !== '1.1') {
        const def = attributeType(r);
        if (def) named.add(def.name.toLowerCase());
      }
    }
    const out: EntryAttribute[] = [];
    for (const [key, attr] of this.attrs) {
      const def = attributeType(key);
      const wanted = named.has(key) || (def?.operational ? operational : all);
      if (wanted && attr.values.length > 0) out.push(attr);
    }
    return out;
  }

  /** Caches the encoded protocolOp of a selection, since many clients ask for the same one. */
  encodedFor(key: string, encode: () => Buffer): Buffer {
    let bytes = this.encoded.get(key);
    if (!bytes) {
      bytes = encode();
      if (this.encoded.size < 4) this.encoded.set(key, bytes);
    }
    return bytes;
  }
}

/** Collects attributes in a stable order, dropping empty values (LDAP has no empty strings for these syntaxes). */
export class EntryBuilder {
  private readonly attrs = new Map<string, EntryAttribute>();

  add(name: string, ...values: (string | number | null | undefined)[]): this {
    const kept = values.filter((v): v is string | number => v !== null && v !== undefined && v !== '').map(String);
    if (kept.length === 0) return this;
    const key = name.toLowerCase();
    const existing = this.attrs.get(key);
    if (existing) this.attrs.set(key, { name, values: [...existing.values, ...kept] });
    else this.attrs.set(key, { name, values: kept });
    return this;
  }

  build(): Map<string, EntryAttribute> {
    return this.attrs;
  }
}
