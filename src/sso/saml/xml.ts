import { randomBytes } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';

export const DEFAULT_MAX_XML_BYTES = 64 * 1024;

export type ParsedXml = { ok: true; document: Document; root: Element } | { ok: false; reason: string };

/**
 * Parses untrusted XML. A DOCTYPE is refused outright, so no entity (internal or external) can be
 * declared or expanded (XXE, billion laughs); any parser warning or error fails the parse.
 */
export function parseUntrustedXml(xml: string, maxBytes = DEFAULT_MAX_XML_BYTES): ParsedXml {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) return { ok: false, reason: `XML exceeds ${maxBytes} bytes` };
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) return { ok: false, reason: 'DOCTYPE and entity declarations are not allowed' };
  const problems: string[] = [];
  const report = (msg: unknown) => {
    problems.push(String(msg));
  };
  let document: Document;
  try {
    document = new DOMParser({ errorHandler: { warning: report, error: report, fatalError: report } }).parseFromString(xml, 'text/xml');
  } catch (err) {
    return { ok: false, reason: `XML does not parse: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (problems.length > 0) return { ok: false, reason: `XML does not parse: ${problems[0]}` };
  if (!document || document.doctype) return { ok: false, reason: 'DOCTYPE is not allowed' };
  const root = document.documentElement;
  if (!root) return { ok: false, reason: 'XML has no root element' };
  return { ok: true, document, root };
}

export const isElement = (node: Node | null | undefined): node is Element => node?.nodeType === 1;

export function childElements(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (isElement(node) && node.namespaceURI === ns && node.localName === localName) out.push(node);
  }
  return out;
}

export function textOf(element: Element): string {
  return (element.textContent ?? '').trim();
}

/** An attribute's value, or undefined when absent (xmldom returns '' for absent attributes). */
export function attributeOf(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? element.getAttribute(name) ?? '' : undefined;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * Escapes text or an attribute value. Characters XML 1.0 cannot carry at all (C0 controls other
 * than tab, LF, CR; lone surrogates; U+FFFE/FFFF) are dropped rather than emitted.
 */
export function escapeXml(value: string): string {
  return value
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/** The base64 body of a PEM certificate (what ds:X509Certificate carries). */
export function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
}

/** xs:dateTime in UTC with millisecond precision, as SAML requires (core §1.3.3). */
export const instant = (date: Date): string => date.toISOString();

/** SAML core §1.3.4: IDs are xs:ID with at least 128 random bits. */
export const newSamlId = (): string => `_${randomBytes(20).toString('hex')}`;
