import { Entry, EntryBuilder } from './entry.js';
import { PAGED_RESULTS_OID, PASSWORD_MODIFY_OID, START_TLS_OID, WHO_AM_I_OID } from './protocol.js';
import { attributeTypeDescriptions, ldapSyntaxDescriptions, matchingRuleDescriptions, objectClassDescriptions } from './schema.js';
import { SUBSCHEMA_DN } from './tree.js';

/** RFC 4512 §5.1: what the server supports, readable before binding. */
export function rootDse(namingContext: string, tls: boolean, version: string): Entry {
  const extensions = [WHO_AM_I_OID, PASSWORD_MODIFY_OID, ...(tls ? [START_TLS_OID] : [])];
  const b = new EntryBuilder()
    .add('objectClass', 'top')
    .add('namingContexts', namingContext)
    .add('subschemaSubentry', SUBSCHEMA_DN)
    .add('supportedLDAPVersion', '3')
    .add('supportedControl', PAGED_RESULTS_OID)
    .add('supportedExtension', ...extensions)
    // RFC 4526 absolute true/false filters, RFC 3673 "+", RFC 4529 "@objectclass" is not offered.
    .add('supportedFeatures', '1.3.6.1.4.1.4203.1.5.1', '1.3.6.1.4.1.4203.1.5.3')
    .add('vendorName', 'Roster')
    .add('vendorVersion', version);
  return new Entry('root-dse', '', '', undefined, b.build());
}

/** RFC 4512 §4.2 subschema subentry. */
export function subschemaEntry(): Entry {
  const b = new EntryBuilder()
    .add('objectClass', 'top', 'subentry', 'subschema')
    .add('cn', 'Subschema')
    .add('structuralObjectClass', 'subentry')
    .add('ldapSyntaxes', ...ldapSyntaxDescriptions())
    .add('matchingRules', ...matchingRuleDescriptions())
    .add('attributeTypes', ...attributeTypeDescriptions())
    .add('objectClasses', ...objectClassDescriptions())
    .add('entryDN', SUBSCHEMA_DN)
    .add('subschemaSubentry', SUBSCHEMA_DN);
  return new Entry('subschema', SUBSCHEMA_DN, 'cn=subschema', undefined, b.build());
}
