/**
 * The schema Roster's LDAP service publishes (RFC 4512): the attribute types and object classes of
 * its entries, with the OIDs of RFC 4519, RFC 2798, RFC 4524, RFC 4530, draft-howard-rfc2307bis
 * (posixGroup auxiliary, so a group is groupOfNames + posixGroup) and openssh-lpk.
 */

export type EqualityRule =
  | 'caseIgnoreMatch'
  | 'caseExactMatch'
  | 'caseIgnoreIA5Match'
  | 'caseExactIA5Match'
  | 'integerMatch'
  | 'distinguishedNameMatch'
  | 'octetStringMatch'
  | 'objectIdentifierMatch'
  | 'telephoneNumberMatch'
  | 'generalizedTimeMatch'
  | 'uuidMatch'
  | 'booleanMatch';

export interface AttributeTypeDef {
  oid: string;
  name: string;
  aliases?: string[];
  syntax: string;
  equality: EqualityRule;
  /** Whether >= and <= apply (integer, time, string orderings). */
  ordering: boolean;
  substrings: boolean;
  singleValue?: boolean;
  /** Operational attributes are returned only when asked for by name or with "+". */
  operational?: boolean;
  noUserModification?: boolean;
  desc?: string;
}

const S = {
  directoryString: '1.3.6.1.4.1.1466.115.121.1.15',
  ia5String: '1.3.6.1.4.1.1466.115.121.1.26',
  integer: '1.3.6.1.4.1.1466.115.121.1.27',
  dn: '1.3.6.1.4.1.1466.115.121.1.12',
  oid: '1.3.6.1.4.1.1466.115.121.1.38',
  octetString: '1.3.6.1.4.1.1466.115.121.1.40',
  telephone: '1.3.6.1.4.1.1466.115.121.1.50',
  time: '1.3.6.1.4.1.1466.115.121.1.24',
  uuid: '1.3.6.1.1.16.1',
  boolean: '1.3.6.1.4.1.1466.115.121.1.7',
  attributeTypeDescription: '1.3.6.1.4.1.1466.115.121.1.3',
  objectClassDescription: '1.3.6.1.4.1.1466.115.121.1.37',
  syntaxDescription: '1.3.6.1.4.1.1466.115.121.1.54',
  matchingRuleDescription: '1.3.6.1.4.1.1466.115.121.1.30',
} as const;

const text = (oid: string, name: string, extra: Partial<AttributeTypeDef> = {}): AttributeTypeDef => ({
  oid,
  name,
  syntax: S.directoryString,
  equality: 'caseIgnoreMatch',
  ordering: false,
  substrings: true,
  ...extra,
});

const ia5 = (oid: string, name: string, exact: boolean, extra: Partial<AttributeTypeDef> = {}): AttributeTypeDef => ({
  oid,
  name,
  syntax: S.ia5String,
  equality: exact ? 'caseExactIA5Match' : 'caseIgnoreIA5Match',
  ordering: false,
  substrings: true,
  ...extra,
});

const integer = (oid: string, name: string, extra: Partial<AttributeTypeDef> = {}): AttributeTypeDef => ({
  oid,
  name,
  syntax: S.integer,
  equality: 'integerMatch',
  ordering: true,
  substrings: false,
  singleValue: true,
  ...extra,
});

const dn = (oid: string, name: string, extra: Partial<AttributeTypeDef> = {}): AttributeTypeDef => ({
  oid,
  name,
  syntax: S.dn,
  equality: 'distinguishedNameMatch',
  ordering: false,
  substrings: false,
  ...extra,
});

const operational = { operational: true, noUserModification: true } as const;

const phone = (oid: string, name: string): AttributeTypeDef => ({
  oid,
  name,
  syntax: S.telephone,
  equality: 'telephoneNumberMatch',
  ordering: false,
  substrings: true,
});

const time = (oid: string, name: string): AttributeTypeDef => ({
  oid,
  name,
  syntax: S.time,
  equality: 'generalizedTimeMatch',
  ordering: true,
  substrings: false,
  singleValue: true,
  ...operational,
});

const rootDseText = (oid: string, name: string): AttributeTypeDef => ({ ...text(oid, name), ...operational });

export const ATTRIBUTE_TYPES: readonly AttributeTypeDef[] = [
  { oid: '2.5.4.0', name: 'objectClass', syntax: S.oid, equality: 'objectIdentifierMatch', ordering: false, substrings: false },
  text('2.5.4.3', 'cn', { aliases: ['commonName'] }),
  text('2.5.4.4', 'sn', { aliases: ['surname'] }),
  text('2.5.4.42', 'givenName', { aliases: ['gn'] }),
  text('0.9.2342.19200300.100.1.1', 'uid', { aliases: ['userid'] }),
  ia5('0.9.2342.19200300.100.1.3', 'mail', false, { aliases: ['rfc822Mailbox'] }),
  text('2.16.840.1.113730.3.1.241', 'displayName', { singleValue: true }),
  text('2.5.4.12', 'title'),
  text('2.5.4.10', 'o', { aliases: ['organizationName'] }),
  text('2.5.4.11', 'ou', { aliases: ['organizationalUnitName'] }),
  ia5('0.9.2342.19200300.100.1.25', 'dc', false, { aliases: ['domainComponent'], singleValue: true }),
  text('2.5.4.7', 'l', { aliases: ['localityName'] }),
  text('2.5.4.13', 'description'),
  phone('2.5.4.20', 'telephoneNumber'),
  phone('0.9.2342.19200300.100.1.41', 'mobile'),
  text('2.16.840.1.113730.3.1.3', 'employeeNumber', { singleValue: true }),
  text('2.16.840.1.113730.3.1.4', 'employeeType'),
  text('2.16.840.1.113730.3.1.2', 'departmentNumber'),
  dn('0.9.2342.19200300.100.1.10', 'manager'),
  dn('2.5.4.31', 'member'),
  dn('1.2.840.113556.1.2.102', 'memberOf', { ...operational, desc: 'Groups the entry belongs to, directly or through nested groups' }),
  integer('1.3.6.1.1.1.1.0', 'uidNumber'),
  integer('1.3.6.1.1.1.1.1', 'gidNumber'),
  ia5('1.3.6.1.1.1.1.2', 'gecos', false, { singleValue: true }),
  ia5('1.3.6.1.1.1.1.3', 'homeDirectory', true, { singleValue: true, substrings: false }),
  ia5('1.3.6.1.1.1.1.4', 'loginShell', true, { singleValue: true, substrings: false }),
  ia5('1.3.6.1.1.1.1.12', 'memberUid', true),
  { oid: '1.3.6.1.4.1.24552.500.1.1.1.13', name: 'sshPublicKey', syntax: S.octetString, equality: 'octetStringMatch', ordering: false, substrings: false },
  { oid: '2.5.4.35', name: 'userPassword', syntax: S.octetString, equality: 'octetStringMatch', ordering: false, substrings: false },
  { oid: '1.3.6.1.1.16.4', name: 'entryUUID', syntax: S.uuid, equality: 'uuidMatch', ordering: true, substrings: false, singleValue: true, ...operational },
  time('2.5.18.1', 'createTimestamp'),
  time('2.5.18.2', 'modifyTimestamp'),
  dn('1.3.6.1.1.20', 'entryDN', { singleValue: true, ...operational }),
  dn('2.5.18.10', 'subschemaSubentry', { singleValue: true, ...operational }),
  { oid: '2.5.18.9', name: 'hasSubordinates', syntax: S.boolean, equality: 'booleanMatch', ordering: false, substrings: false, singleValue: true, ...operational },
  { oid: '2.5.21.9', name: 'structuralObjectClass', syntax: S.oid, equality: 'objectIdentifierMatch', ordering: false, substrings: false, singleValue: true, ...operational },
  dn('1.3.6.1.4.1.1466.101.120.5', 'namingContexts', { ...operational }),
  { oid: '1.3.6.1.4.1.1466.101.120.13', name: 'supportedControl', syntax: S.oid, equality: 'objectIdentifierMatch', ordering: false, substrings: false, ...operational },
  { oid: '1.3.6.1.4.1.1466.101.120.7', name: 'supportedExtension', syntax: S.oid, equality: 'objectIdentifierMatch', ordering: false, substrings: false, ...operational },
  { oid: '1.3.6.1.4.1.4203.1.3.5', name: 'supportedFeatures', syntax: S.oid, equality: 'objectIdentifierMatch', ordering: false, substrings: false, ...operational },
  integer('1.3.6.1.4.1.1466.101.120.15', 'supportedLDAPVersion', { singleValue: false, ...operational }),
  rootDseText('1.3.6.1.4.1.1466.101.120.14', 'supportedSASLMechanisms'),
  rootDseText('1.3.6.1.1.4', 'vendorName'),
  rootDseText('1.3.6.1.1.5', 'vendorVersion'),
  { ...text('2.5.21.5', 'attributeTypes', { syntax: S.attributeTypeDescription }), ...operational },
  { ...text('2.5.21.6', 'objectClasses', { syntax: S.objectClassDescription }), ...operational },
  { ...text('1.3.6.1.4.1.1466.101.120.16', 'ldapSyntaxes', { syntax: S.syntaxDescription }), ...operational },
  { ...text('2.5.21.4', 'matchingRules', { syntax: S.matchingRuleDescription }), ...operational },
];

const BY_NAME = new Map<string, AttributeTypeDef>();
for (const def of ATTRIBUTE_TYPES) {
  for (const key of [def.name, def.oid, ...(def.aliases ?? [])]) BY_NAME.set(key.toLowerCase(), def);
}

/** The attribute type an attribute description names (options after ";" ignored), if known. */
export function attributeType(description: string): AttributeTypeDef | undefined {
  const semicolon = description.indexOf(';');
  const base = semicolon >= 0 ? description.slice(0, semicolon) : description;
  return BY_NAME.get(base.toLowerCase());
}

export interface ObjectClassDef {
  oid: string;
  name: string;
  sup?: string;
  kind: 'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY';
  must: string[];
  may: string[];
}

export const OBJECT_CLASSES: readonly ObjectClassDef[] = [
  { oid: '2.5.6.0', name: 'top', kind: 'ABSTRACT', must: ['objectClass'], may: [] },
  { oid: '1.3.6.1.4.1.1466.344', name: 'dcObject', sup: 'top', kind: 'AUXILIARY', must: ['dc'], may: [] },
  { oid: '2.5.6.4', name: 'organization', sup: 'top', kind: 'STRUCTURAL', must: ['o'], may: ['description', 'l'] },
  { oid: '2.5.6.5', name: 'organizationalUnit', sup: 'top', kind: 'STRUCTURAL', must: ['ou'], may: ['description'] },
  { oid: '2.5.6.6', name: 'person', sup: 'top', kind: 'STRUCTURAL', must: ['sn', 'cn'], may: ['userPassword', 'telephoneNumber', 'description'] },
  { oid: '2.5.6.7', name: 'organizationalPerson', sup: 'person', kind: 'STRUCTURAL', must: [], may: ['title', 'ou', 'l'] },
  {
    oid: '2.16.840.1.113730.3.2.2',
    name: 'inetOrgPerson',
    sup: 'organizationalPerson',
    kind: 'STRUCTURAL',
    must: [],
    may: ['departmentNumber', 'displayName', 'employeeNumber', 'employeeType', 'givenName', 'mail', 'manager', 'mobile', 'o', 'uid'],
  },
  {
    oid: '1.3.6.1.1.1.2.0',
    name: 'posixAccount',
    sup: 'top',
    kind: 'AUXILIARY',
    must: ['cn', 'uid', 'uidNumber', 'gidNumber', 'homeDirectory'],
    may: ['userPassword', 'loginShell', 'gecos', 'description'],
  },
  { oid: '1.3.6.1.4.1.24552.500.1.1.2.0', name: 'ldapPublicKey', sup: 'top', kind: 'AUXILIARY', must: [], may: ['sshPublicKey', 'uid'] },
  { oid: '2.5.6.9', name: 'groupOfNames', sup: 'top', kind: 'STRUCTURAL', must: ['member', 'cn'], may: ['description', 'o', 'ou'] },
  { oid: '1.3.6.1.1.1.2.2', name: 'posixGroup', sup: 'top', kind: 'AUXILIARY', must: ['gidNumber'], may: ['userPassword', 'memberUid', 'description'] },
  { oid: '2.5.20.1', name: 'subschema', kind: 'AUXILIARY', must: [], may: ['attributeTypes', 'objectClasses', 'ldapSyntaxes', 'matchingRules'] },
  { oid: '2.5.17.0', name: 'subentry', sup: 'top', kind: 'STRUCTURAL', must: ['cn'], may: [] },
];

const CLASS_BY_NAME = new Map<string, ObjectClassDef>();
for (const oc of OBJECT_CLASSES) {
  CLASS_BY_NAME.set(oc.name.toLowerCase(), oc);
  CLASS_BY_NAME.set(oc.oid, oc);
}

/** The canonical, lower-case name of an object class given by name or OID; unknown ones unchanged. */
export function objectClassKey(value: string): string {
  return (CLASS_BY_NAME.get(value.toLowerCase()) ?? CLASS_BY_NAME.get(value))?.name.toLowerCase() ?? value.toLowerCase();
}

const RULE_OIDS: Record<EqualityRule, string> = {
  caseIgnoreMatch: '2.5.13.2',
  caseExactMatch: '2.5.13.5',
  caseIgnoreIA5Match: '1.3.6.1.4.1.1466.109.114.2',
  caseExactIA5Match: '1.3.6.1.4.1.1466.109.114.1',
  integerMatch: '2.5.13.14',
  distinguishedNameMatch: '2.5.13.1',
  octetStringMatch: '2.5.13.17',
  objectIdentifierMatch: '2.5.13.0',
  telephoneNumberMatch: '2.5.13.20',
  generalizedTimeMatch: '2.5.13.27',
  uuidMatch: '1.3.6.1.1.16.2',
  booleanMatch: '2.5.13.13',
};

/** Extensible-match rules accepted in filters, by name and OID. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';
export const BIT_AND_RULE = '1.2.840.113556.1.4.803';
export const BIT_OR_RULE = '1.2.840.113556.1.4.804';

const RULE_BY_KEY = new Map<string, EqualityRule>();
for (const [name, oid] of Object.entries(RULE_OIDS) as [EqualityRule, string][]) {
  RULE_BY_KEY.set(name.toLowerCase(), name);
  RULE_BY_KEY.set(oid, name);
}

export function equalityRule(key: string): EqualityRule | undefined {
  return RULE_BY_KEY.get(key.toLowerCase());
}

const ORDERING_NAMES: Partial<Record<EqualityRule, string>> = {
  caseIgnoreMatch: 'caseIgnoreOrderingMatch',
  caseExactMatch: 'caseExactOrderingMatch',
  integerMatch: 'integerOrderingMatch',
  generalizedTimeMatch: 'generalizedTimeOrderingMatch',
  uuidMatch: 'UUIDOrderingMatch',
};

const SUBSTRING_NAMES: Partial<Record<EqualityRule, string>> = {
  caseIgnoreMatch: 'caseIgnoreSubstringsMatch',
  caseExactMatch: 'caseExactSubstringsMatch',
  caseIgnoreIA5Match: 'caseIgnoreIA5SubstringsMatch',
  caseExactIA5Match: 'caseExactIA5SubstringsMatch',
  telephoneNumberMatch: 'telephoneNumberSubstringsMatch',
  octetStringMatch: 'octetStringSubstringsMatch',
};

/** RFC 4512 §4.1 descriptions for the subschema entry. */
export function attributeTypeDescriptions(): string[] {
  return ATTRIBUTE_TYPES.map((a) => {
    const names = [a.name, ...(a.aliases ?? [])];
    const nameText = names.length === 1 ? `'${names[0]}'` : `( ${names.map((n) => `'${n}'`).join(' ')} )`;
    const parts = [`( ${a.oid} NAME ${nameText}`];
    if (a.desc) parts.push(`DESC '${a.desc}'`);
    parts.push(`EQUALITY ${a.equality === 'uuidMatch' ? 'UUIDMatch' : a.equality}`);
    if (a.ordering && ORDERING_NAMES[a.equality]) parts.push(`ORDERING ${ORDERING_NAMES[a.equality]}`);
    if (a.substrings && SUBSTRING_NAMES[a.equality]) parts.push(`SUBSTR ${SUBSTRING_NAMES[a.equality]}`);
    parts.push(`SYNTAX ${a.syntax}`);
    if (a.singleValue) parts.push('SINGLE-VALUE');
    if (a.noUserModification) parts.push('NO-USER-MODIFICATION');
    if (a.operational) parts.push(a.name === 'memberOf' ? 'USAGE dSAOperation' : 'USAGE directoryOperation');
    return `${parts.join(' ')} )`;
  });
}

export function objectClassDescriptions(): string[] {
  const list = (names: string[]) => (names.length === 1 ? names[0]! : `( ${names.join(' $ ')} )`);
  return OBJECT_CLASSES.map((oc) => {
    const parts = [`( ${oc.oid} NAME '${oc.name}'`];
    if (oc.sup) parts.push(`SUP ${oc.sup}`);
    parts.push(oc.kind);
    if (oc.must.length) parts.push(`MUST ${list(oc.must)}`);
    if (oc.may.length) parts.push(`MAY ${list(oc.may)}`);
    return `${parts.join(' ')} )`;
  });
}

export function matchingRuleDescriptions(): string[] {
  const rules = Object.entries(RULE_OIDS).map(([name, oid]) => `( ${oid} NAME '${name === 'uuidMatch' ? 'UUIDMatch' : name}' )`);
  rules.push(`( ${IN_CHAIN_RULE} NAME 'inChainMatch' DESC 'transitive membership' )`);
  rules.push(`( ${BIT_AND_RULE} NAME 'integerBitAndMatch' )`, `( ${BIT_OR_RULE} NAME 'integerBitOrMatch' )`);
  return rules;
}

export function ldapSyntaxDescriptions(): string[] {
  return Object.entries(S).map(([name, oid]) => `( ${oid} DESC '${name}' )`);
}
