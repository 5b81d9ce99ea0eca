/**
 * The subset of ASN.1 BER that LDAP uses (RFC 4511 §5.1): definite lengths only, tags below 31,
 * no constructed strings. Anything else is a protocol error, never a crash.
 */

export class BerError extends Error {}

export const Tag = {
  Boolean: 0x01,
  Integer: 0x02,
  OctetString: 0x04,
  Null: 0x05,
  Enumerated: 0x0a,
  Sequence: 0x30,
  Set: 0x31,
} as const;

/** A read cursor over one element's contents. */
export class BerReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  peekTag(): number | undefined {
    return this.pos < this.end ? this.buf[this.pos] : undefined;
  }

  /** Reads one element's header and returns a reader over its contents, advancing past it. */
  element(expected?: number): { tag: number; body: BerReader; start: number; end: number } {
    const { tag, start, end } = this.header();
    if (expected !== undefined && tag !== expected) {
      throw new BerError(`expected tag 0x${expected.toString(16)}, found 0x${tag.toString(16)}`);
    }
    this.pos = end;
    return { tag, body: new BerReader(this.buf, start, end), start, end };
  }

  private header(): { tag: number; start: number; end: number } {
    if (this.pos >= this.end) throw new BerError('unexpected end of element');
    const tag = this.buf[this.pos]!;
    if ((tag & 0x1f) === 0x1f) throw new BerError('multi-byte tags are not used by LDAP');
    const parsed = readLength(this.buf, this.pos + 1, this.end);
    if (parsed === undefined) throw new BerError('truncated length');
    const start = parsed.next;
    const end = start + parsed.length;
    if (end > this.end) throw new BerError('element longer than its container');
    return { tag, start, end };
  }

  skip(): void {
    this.element();
  }

  octets(tag: number = Tag.OctetString): Buffer {
    const { start, end } = this.element(tag);
    return this.buf.subarray(start, end);
  }

  string(tag: number = Tag.OctetString): string {
    const bytes = this.octets(tag);
    return decodeUtf8(bytes);
  }

  integer(tag: number = Tag.Integer): number {
    const { start, end } = this.element(tag);
    return readInteger(this.buf, start, end);
  }

  boolean(tag: number = Tag.Boolean): boolean {
    const { start, end } = this.element(tag);
    if (end - start !== 1) throw new BerError('a BOOLEAN has one content octet');
    return this.buf[start] !== 0;
  }

  null(tag: number = Tag.Null): void {
    const { start, end } = this.element(tag);
    if (end !== start) throw new BerError('a NULL has no content');
  }

  /** Throws unless every byte of the element was consumed. */
  finish(): void {
    if (this.pos !== this.end) throw new BerError('trailing bytes inside an element');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 4511 §4.1.2: LDAPString is UTF-8; an invalid sequence is a protocol error. */
export function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BerError('invalid UTF-8 in a string');
  }
}

function readInteger(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len === 0) throw new BerError('an INTEGER has at least one content octet');
  if (len > 6) throw new BerError('INTEGER out of range');
  let value = buf.readIntBE(start, len);
  if (!Number.isSafeInteger(value)) throw new BerError('INTEGER out of range');
  return value;
}

/** Decodes a definite length at `pos`; undefined when more bytes are needed. */
export function readLength(buf: Buffer, pos: number, end: number): { length: number; next: number } | undefined {
  if (pos >= end) return undefined;
  const first = buf[pos]!;
  if (first < 0x80) return { length: first, next: pos + 1 };
  const count = first & 0x7f;
  if (count === 0) throw new BerError('indefinite lengths are not allowed in LDAP');
  if (count > 4) throw new BerError('length too large');
  if (pos + 1 + count > end) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + buf[pos + 1 + i]!;
  return { length, next: pos + 1 + count };
}

/**
 * How many bytes the PDU at the start of `buf` takes, or undefined when its header is not complete
 * yet. Throws when the header is invalid or announces more than `maxPdu` bytes, so a client cannot
 * make the server buffer more than that.
 */
export function pduLength(buf: Buffer, maxPdu: number): number | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] !== Tag.Sequence) throw new BerError('an LDAPMessage is a SEQUENCE');
  const parsed = readLength(buf, 1, buf.length);
  if (!parsed) return undefined;
  const total = parsed.next + parsed.length;
  if (total > maxPdu) throw new BerError(`PDU of ${total} bytes exceeds the limit of ${maxPdu}`);
  return total;
}

/** An append-only BER writer; sequences patch their length when they end. */
export class BerWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly open: number[] = [];

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private length(n: number): void {
    if (n < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = n;
      return;
    }
    const bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
    this.ensure(1 + bytes);
    this.buf[this.pos++] = 0x80 | bytes;
    for (let i = bytes - 1; i >= 0; i--) this.buf[this.pos++] = (n >>> (i * 8)) & 0xff;
  }

  start(tag: number = Tag.Sequence): this {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.open.push(this.pos);
    this.buf[this.pos++] = 0;
    return this;
  }

  end(): this {
    const lengthAt = this.open.pop();
    if (lengthAt === undefined) throw new Error('BerWriter.end without start');
    const contentStart = lengthAt + 1;
    const n = this.pos - contentStart;
    if (n < 0x80) {
      this.buf[lengthAt] = n;
      return this;
    }
    const bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
    this.ensure(bytes);
    this.buf.copyWithin(contentStart + bytes, contentStart, this.pos);
    this.buf[lengthAt] = 0x80 | bytes;
    for (let i = 0; i < bytes; i++) this.buf[lengthAt + 1 + i] = (n >>> ((bytes - 1 - i) * 8)) & 0xff;
    this.pos += bytes;
    return this;
  }

  octets(value: Buffer | string, tag: number = Tag.OctetString): this {
    const bytes = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    this.ensure(1);
    this.buf[this.pos++] = tag;
    this.length(bytes);
    this.ensure(bytes);
    if (typeof value === 'string') this.buf.write(value, this.pos, 'utf8');
    else value.copy(this.buf, this.pos);
    this.pos += bytes;
    return this;
  }

  integer(value: number, tag: number = Tag.Integer): this {
    let bytes = 1;
    while (bytes < 6 && (value < -(2 ** (bytes * 8 - 1)) || value >= 2 ** (bytes * 8 - 1))) bytes++;
    this.ensure(2 + bytes);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = bytes;
    this.buf.writeIntBE(value, this.pos, bytes);
    this.pos += bytes;
    return this;
  }

  enumerated(value: number): this {
    return this.integer(value, Tag.Enumerated);
  }

  boolean(value: boolean, tag: number = Tag.Boolean): this {
    this.ensure(3);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 1;
    this.buf[this.pos++] = value ? 0xff : 0;
    return this;
  }

  null(tag: number = Tag.Null): this {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 0;
    return this;
  }

  /** Appends bytes that are already BER-encoded. */
  raw(bytes: Buffer): this {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
    return this;
  }

  toBuffer(): Buffer {
    if (this.open.length > 0) throw new Error('BerWriter has unterminated sequences');
    return this.buf.subarray(0, this.pos);
  }
}
