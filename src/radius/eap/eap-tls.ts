import type { PeerCertificate } from 'node:tls';
import { EapType } from './eap.js';
import type { AuthResult, Authenticator } from './method.js';
import { TunneledMethod, type InnerStep } from './tunneled.js';

/** The names a user certificate carries that can identify a user: its common name and its email addresses. */
export interface CertificateNames {
  commonName?: string;
  emails: string[];
}

export function certificateNames(certificate: PeerCertificate): CertificateNames {
  const cn = certificate.subject?.CN;
  const emails = (certificate.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('email:'))
    .map((entry) => entry.slice('email:'.length));
  const subjectEmail = (certificate.subject as unknown as Record<string, string | string[] | undefined>)?.emailAddress;
  for (const e of [subjectEmail].flat()) if (typeof e === 'string' && !emails.includes(e)) emails.push(e);
  return { ...(typeof cn === 'string' ? { commonName: cn } : {}), emails };
}

/**
 * EAP-TLS (RFC 5216): the peer proves itself with a client certificate in the TLS handshake; the
 * certificate must chain to one of the RADIUS server's CAs and name a user. There is no inner
 * phase: once the peer acknowledges the server's Finished, the answer is Success or Failure.
 * Keys come from the label "client EAP encryption" (RFC 5216 §2.3, TLS 1.2).
 */
export class EapTlsMethod extends TunneledMethod {
  constructor(
    credentials: { cert: Buffer; key: Buffer; ca: string },
    private readonly auth: Authenticator,
  ) {
    super(EapType.Tls, { clientCertificates: credentials }, 'client EAP encryption');
  }

  protected async begin(): Promise<InnerStep | undefined> {
    return { done: await this.identify() };
  }

  protected async inner(data: Buffer): Promise<InnerStep> {
    return { done: data.length === 0 ? await this.identify() : { ok: false, reason: 'EAP_TLS_UNEXPECTED_DATA' } };
  }

  private async identify(): Promise<AuthResult> {
    const { certificate, authorized } = this.peer;
    if (!certificate) return { ok: false, reason: 'CERTIFICATE_MISSING' };
    if (!authorized) return { ok: false, reason: 'CERTIFICATE_UNTRUSTED' };
    return this.auth.certificate(certificateNames(certificate));
  }
}
