import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * Test data and peers for the generic LDAP directory source (src/integrations/ldap-directory):
 * LDIF builders and a TCP peer that accepts and never answers. The slapd with account policies
 * is test/support/slapd.ts's, with `policies`.
 */

export interface LdifUser {
  uid: string;
  cn?: string;
  sn?: string;
  mail?: string;
  title?: string;
  password?: string;
  /** posixAccount with uidNumber/gidNumber/homeDirectory. */
  posix?: boolean;
  /** Extra lines, e.g. "shadowExpire: 1" or "nsAccountLock: TRUE". */
  extra?: string[];
  extraClasses?: string[];
}

export function userLdif(parentDn: string, user: LdifUser, uidNumber = 10_000): string {
  const cn = user.cn ?? user.uid;
  const lines = [`dn: uid=${user.uid},${parentDn}`, 'objectClass: inetOrgPerson'];
  if (user.posix) lines.push('objectClass: posixAccount');
  for (const c of user.extraClasses ?? []) lines.push(`objectClass: ${c}`);
  lines.push(`uid: ${user.uid}`, `cn: ${cn}`, `sn: ${user.sn ?? cn.split(' ').pop()}`);
  if (user.mail) lines.push(`mail: ${user.mail}`);
  if (user.title) lines.push(`title: ${user.title}`);
  if (user.password) lines.push(`userPassword: ${user.password}`);
  if (user.posix) lines.push(`uidNumber: ${uidNumber}`, `gidNumber: ${uidNumber}`, `homeDirectory: /home/${user.uid}`);
  lines.push(...(user.extra ?? []));
  return `${lines.join('\n')}\n`;
}

export interface LdifGroup {
  dn: string;
  classes: ('groupOfNames' | 'groupOfUniqueNames' | 'posixGroup')[];
  member?: string[];
  uniqueMember?: string[];
  memberUid?: string[];
  description?: string;
  gidNumber?: number;
}

export function groupLdif(group: LdifGroup): string {
  const cn = /^cn=([^,]+)/i.exec(group.dn)?.[1] ?? 'group';
  const lines = [`dn: ${group.dn}`, ...group.classes.map((c) => `objectClass: ${c}`), `cn: ${cn}`];
  if (group.description) lines.push(`description: ${group.description}`);
  if (group.classes.includes('posixGroup')) lines.push(`gidNumber: ${group.gidNumber ?? 30_000}`);
  for (const m of group.member ?? []) lines.push(`member: ${m}`);
  for (const m of group.uniqueMember ?? []) lines.push(`uniqueMember: ${m}`);
  for (const m of group.memberUid ?? []) lines.push(`memberUid: ${m}`);
  return `${lines.join('\n')}\n`;
}

export const ouLdif = (dn: string): string => `dn: ${dn}\nobjectClass: organizationalUnit\nou: ${/^ou=([^,]+)/i.exec(dn)?.[1]}\n`;

/** A bind account for the source, as a directory agent would have. */
export const serviceAccountLdif = (dn: string, password: string): string =>
  `dn: ${dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: ${/^cn=([^,]+)/i.exec(dn)?.[1]}\nuserPassword: ${password}\n`;

/** A TCP peer that accepts connections and never answers: an LDAP server hung or behind a black hole. */
export async function startSilentPeer(): Promise<{ url: string; ldapsUrl: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
