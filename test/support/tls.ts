import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** A self-signed CA certificate (RSA 2048, 30 days) and its key. */
function makeCa(name: string, keyFile: string, certFile: string) {
  return run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30',
    '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints = critical, CA:TRUE',
    '-addext', 'keyUsage = critical, keyCertSign, cRLSign',
    '-keyout', keyFile, '-out', certFile,
  ]);
}

const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1',
  'authorityKeyIdentifier = keyid',
  '',
].join('\n');

/**
 * A throwaway CA (RSA 2048, 30 days) and a server certificate it signed for localhost, 127.0.0.1
 * and ::1, written to `dir` as ca.pem, cert.pem and key.pem (the CA key is kept as ca.key).
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const csrFile = join(dir, 'server.csr');
  const extFile = join(dir, 'server.ext');

  await makeCa('Roster Test CA', caKeyFile, caFile);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', csrFile]);
  await writeFile(extFile, SERVER_EXTENSIONS);
  await run('openssl', [
    'x509', '-req', '-in', csrFile, '-days', '30',
    '-CA', caFile, '-CAkey', caKeyFile, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-extfile', extFile, '-out', certFile,
  ]);
  await Promise.all([chmod(caKeyFile, 0o600), chmod(keyFile, 0o600), rm(csrFile), rm(extFile)]);

  const [ca, cert, key] = await Promise.all([readFile(caFile), readFile(certFile), readFile(keyFile)]);
  return { caFile, certFile, keyFile, ca, cert, key };
}

export interface UserCertificates {
  /** The issuing CA, PEM: what a RADIUS server's caCert holds. */
  ca: string;
  caFile: string;
  /** Per subject (its CN or email): the certificate and its key. */
  users: Map<string, { certFile: string; keyFile: string }>;
}

/**
 * A throwaway user CA and client certificates it signed (clientAuth), for EAP-TLS: each subject
 * gets CN=<cn> and, when given, an email in subjectAltName. An unrelated CA can be made by
 * calling this again with another directory.
 */
export async function makeUserCertificates(dir: string, subjects: { cn: string; email?: string }[]): Promise<UserCertificates> {
  const caFile = join(dir, 'user-ca.pem');
  const caKeyFile = join(dir, 'user-ca.key');
  await makeCa('Roster Test User CA', caKeyFile, caFile);
  const users = new Map<string, { certFile: string; keyFile: string }>();
  for (const [i, subject] of subjects.entries()) {
    const base = join(dir, `user-${i}`);
    const extFile = `${base}.ext`;
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${subject.cn}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
    await writeFile(extFile, [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = clientAuth',
      ...(subject.email ? [`subjectAltName = email:${subject.email}`] : []),
      '',
    ].join('\n'));
    await run('openssl', [
      'x509', '-req', '-in', `${base}.csr`, '-days', '30',
      '-CA', caFile, '-CAkey', caKeyFile, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-extfile', extFile, '-out', `${base}.pem`,
    ]);
    await Promise.all([chmod(`${base}.key`, 0o600), rm(`${base}.csr`), rm(extFile)]);
    users.set(subject.email ?? subject.cn, { certFile: `${base}.pem`, keyFile: `${base}.key` });
  }
  await chmod(caKeyFile, 0o600);
  return { ca: await readFile(caFile, 'utf8'), caFile, users };
}
