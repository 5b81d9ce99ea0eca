const utf8 = new TextDecoder();

/**
 * A DN in a form fit for comparison: RFC 4514 escapes decoded (slapd writes "cn=Ops\2C EMEA" where
 * a member value may say "cn=Ops\, EMEA"), attribute types and values lowercased, insignificant
 * spaces dropped (RFC 4518 §2.6.1), the values of a multi-valued RDN sorted. Values are compared as
 * caseIgnoreMatch would, which is what cn, uid, ou, dc and o use.
 */
export function dnKey(dn: string): string {
  // Most DNs are printable ASCII without escapes or multi-valued RDNs: compare them without parsing.
  if (/^[\x20-\x7e]*$/.test(dn) && !/[\\+";]/.test(dn)) {
    const rdns = dn.split(',');
    if (rdns.every((rdn) => rdn.includes('='))) {
      return rdns
        .map((rdn) => {
          const at = rdn.indexOf('=');
          return `${rdn.slice(0, at).trim().toLowerCase()}=${rdn.slice(at + 1).trim().replace(/\s+/g, ' ').toLowerCase()}`;
        })
        .join('\u0000');
    }
  }
  return parsedDnKey(dn);
}

/** dnKey the long way: escapes decoded, multi-valued RDNs sorted. Exported for tests. */
export function parsedDnKey(dn: string): string {
  const rdns: string[] = [];
  let avas: string[] = [];
  let type = '';
  let value: number[] = [];
  let inValue = false;
  const flushAva = () => {
    const text = utf8.decode(Uint8Array.from(value)).trim().replace(/\s+/g, ' ').toLowerCase();
    avas.push(`${type.trim().toLowerCase()}=${text}`);
    type = '';
    value = [];
    inValue = false;
  };
  const flushRdn = () => {
    flushAva();
    rdns.push(avas.sort().join('\u0001'));
    avas = [];
  };
  const chars = Array.from(dn);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (!inValue) {
      if (ch === '=') inValue = true;
      else type += ch;
      continue;
    }
    if (ch === '\\') {
      const hex = chars.slice(i + 1, i + 3).join('');
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        value.push(Number.parseInt(hex, 16));
        i += 2;
      } else if (i + 1 < chars.length) {
        value.push(...Buffer.from(chars[++i]!, 'utf8'));
      }
    } else if (ch === ',' || ch === ';') {
      flushRdn();
    } else if (ch === '+') {
      flushAva();
    } else {
      value.push(...Buffer.from(ch, 'utf8'));
    }
  }
  if (!inValue && type.trim() === '' && rdns.length === 0) return '';
  if (!inValue) return dn.trim().toLowerCase();
  flushRdn();
  return rdns.join('\u0000');
}

/** Whether `dn` is `base` or below it. */
export function isWithin(dn: string, base: string): boolean {
  const d = dnKey(dn);
  const b = dnKey(base);
  return b === '' || d === b || d.endsWith(`\u0000${b}`);
}
