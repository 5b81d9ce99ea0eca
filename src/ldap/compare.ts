import { parseDn } from './dn.js';
import { normalizeForRule } from './matching.js';
import type { Request } from './protocol.js';
import { ldapError, ResultCode, type ResultCodeValue } from './result-codes.js';
import { attributeType } from './schema.js';
import { access, NO_LONGER_ALLOWED } from './search.js';
import type { LdapService, Session } from './service.js';

type CompareRequest = Extract<Request, { op: 'compare' }>;

/** RFC 4511 §4.10: compareTrue or compareFalse, with the attribute's equality rule. */
export async function compare(service: LdapService, session: Session, request: CompareRequest): Promise<ResultCodeValue> {
  const dn = parseDn(request.dn);
  if (!dn.ok) throw ldapError(ResultCode.invalidDNSyntax, dn.error);
  const principal = session.principal;
  if (principal.kind !== 'user') throw ldapError(ResultCode.insufficientAccessRights, 'Anonymous compare is not allowed; bind first');
  const tree = await service.tree(principal.orgId);
  if (tree && !service.stillAllowed(tree, session)) throw ldapError(ResultCode.insufficientAccessRights, NO_LONGER_ALLOWED);
  const entry = tree?.byNdn.get(dn.value.normalized);
  if (!tree || !entry || !access(session, tree, service.settings(tree))(entry)) throw ldapError(ResultCode.noSuchObject, 'No such object');

  const def = attributeType(request.attribute);
  if (!def) throw ldapError(ResultCode.undefinedAttributeType, `Unknown attribute type ${request.attribute}`);
  if (def.name === 'userPassword') throw ldapError(ResultCode.insufficientAccessRights, 'Passwords cannot be compared; bind instead');
  const values = entry.normalized(def);
  if (!values || values.length === 0) throw ldapError(ResultCode.noSuchAttribute, `The entry has no ${def.name}`);
  const assertion = normalizeForRule(def.equality, request.value);
  if (assertion === undefined) throw ldapError(ResultCode.invalidAttributeSyntax, `"${request.value}" is not a valid ${def.name} value`);
  return values.includes(assertion) ? ResultCode.compareTrue : ResultCode.compareFalse;
}
