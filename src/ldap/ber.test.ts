import { describe, expect, it } from 'vitest';
import { BerError, BerReader, BerWriter, decodeUtf8, pduLength, readLength, Tag } from './ber.js';

const hex = (b: Buffer) => b.toString('hex');
const bytes = (...b: number[]) => Buffer.from(b);

describe('BerWriter / BerReader round trips', () => {
  it.each([0, 1, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 40, 2 ** 47 - 1, -1, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 47)])(
    'integer %d',
    (n) => {
      const buf = new BerWriter(4).integer(n).toBuffer();
      const r = new BerReader(buf);
      expect(r.integer()).toBe(n);
      expect(r.done).toBe(true);
    },
  );

  it.each([
    [0, '020100'],
    [127, '02017f'],
    [128, '02020080'],
    [256, '02020100'],
    [-1, '0201ff'],
    [-128, '020180'],
    [-129, '0202ff7f'],
    [2 ** 31 - 1, '02047fffffff'],
  ])('integer %d has the minimal two’s-complement encoding %s', (n, encoded) => {
    expect(hex(new BerWriter().integer(n).toBuffer())).toBe(encoded);
  });

  it('enumerated, boolean and null', () => {
    const buf = new BerWriter().enumerated(2).boolean(true).boolean(false).null().toBuffer();
    expect(hex(buf)).toBe('0a0102' + '0101ff' + '010100' + '0500');
    const r = new BerReader(buf);
    expect(r.integer(Tag.Enumerated)).toBe(2);
    expect(r.boolean()).toBe(true);
    expect(r.boolean()).toBe(false);
    r.null();
    r.finish();
  });

  it.each([0, 1, 127, 128, 255, 256, 65535, 65536, 70_000, 1 << 20])('octet string of %d bytes keeps its length form and content', (n) => {
    const value = Buffer.alloc(n, 0x61);
    for (let i = 0; i < n; i++) value[i] = i & 0xff;
    const buf = new BerWriter(8).octets(value).toBuffer();
    const lengthBytes = n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
    expect(buf.length).toBe(1 + lengthBytes + n);
    if (n >= 0x80) expect(buf[1]).toBe(0x80 | (lengthBytes - 1));
    const r = new BerReader(buf);
    expect(r.octets().equals(value)).toBe(true);
    expect(r.done).toBe(true);
  });

  it('long-form length bytes are big-endian', () => {
    expect(hex(new BerWriter().octets(Buffer.alloc(200)).toBuffer().subarray(0, 3))).toBe('0481c8');
    expect(hex(new BerWriter().octets(Buffer.alloc(300)).toBuffer().subarray(0, 4))).toBe('0482012c');
    expect(hex(new BerWriter().octets(Buffer.alloc(65536)).toBuffer().subarray(0, 5))).toBe('0483010000');
  });

  it('strings are written as UTF-8 and read back', () => {
    const s = 'Zoë Ñúñez 日本 😀';
    const buf = new BerWriter(2).octets(s).toBuffer();
    expect(buf[1]).toBe(Buffer.byteLength(s));
    expect(new BerReader(buf).string()).toBe(s);
  });

  it.each([0, 100, 127, 128, 200, 255, 256, 1000, 65535, 65536, 100_000])(
    'a sequence whose contents take %d bytes patches a length of the right form',
    (n) => {
      const w = new BerWriter(4);
      w.start().integer(7);
      // integer 7 is 3 bytes; fill the rest with one octet string when there is room for its header.
      const rest = n - 3;
      if (rest >= 2) {
        const headerLen = rest - 2 < 0x80 ? 2 : rest - 3 < 0x100 ? 3 : rest - 4 < 0x10000 ? 4 : 5;
        w.octets(Buffer.alloc(rest - headerLen, 0x5a));
      }
      w.end();
      const buf = w.toBuffer();
      const r = new BerReader(buf);
      const { body, tag } = r.element(Tag.Sequence);
      expect(tag).toBe(0x30);
      expect(r.done).toBe(true);
      expect(body.integer()).toBe(7);
      if (!body.done) body.octets();
      body.finish();
      const parsed = readLength(buf, 1, buf.length)!;
      expect(parsed.next + parsed.length).toBe(buf.length);
    },
  );

  it('nested sequences that grow past 127 and 65535 bytes keep the outer lengths right', () => {
    const w = new BerWriter(16);
    w.start().start(0x63).octets(Buffer.alloc(100)).start(0xa0);
    for (let i = 0; i < 700; i++) w.octets(Buffer.alloc(100, i & 0xff));
    w.end().end().octets('tail').end();
    const buf = w.toBuffer();
    expect(pduLength(buf, 1 << 20)).toBe(buf.length);
    const outer = new BerReader(buf).element(Tag.Sequence).body;
    const op = outer.element(0x63).body;
    expect(op.octets().length).toBe(100);
    const list = op.element(0xa0).body;
    let count = 0;
    while (!list.done) {
      expect(list.octets()[0]).toBe(count & 0xff);
      count++;
    }
    expect(count).toBe(700);
    op.finish();
    expect(outer.string()).toBe('tail');
    outer.finish();
  });

  it('raw appends encoded bytes as they are', () => {
    const inner = new BerWriter().octets('x').toBuffer();
    expect(hex(new BerWriter().start().raw(inner).end().toBuffer())).toBe('3003040178');
  });

  it('refuses to hand out an unterminated sequence, or end one never started', () => {
    expect(() => new BerWriter().start().toBuffer()).toThrow();
    expect(() => new BerWriter().end()).toThrow();
  });
});

describe('BerReader refuses malformed input', () => {
  const reject = (buf: Buffer, read: (r: BerReader) => unknown) => expect(() => read(new BerReader(buf))).toThrow(BerError);

  it('a wrong tag', () => reject(bytes(0x04, 0x01, 0x00), (r) => r.integer()));
  it('an empty INTEGER', () => reject(bytes(0x02, 0x00), (r) => r.integer()));
  it('an INTEGER over 6 octets', () => reject(bytes(0x02, 0x07, 1, 2, 3, 4, 5, 6, 7), (r) => r.integer()));
  it('a BOOLEAN of two octets', () => reject(bytes(0x01, 0x02, 0xff, 0xff), (r) => r.boolean()));
  it('a NULL with content', () => reject(bytes(0x05, 0x01, 0x00), (r) => r.null()));
  it('an element longer than its container', () => reject(bytes(0x04, 0x05, 0x61), (r) => r.octets()));
  it('a truncated long-form length', () => reject(bytes(0x04, 0x82, 0x01), (r) => r.octets()));
  it('a huge long-form length', () => reject(bytes(0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00), (r) => r.octets()));
  it('more than four length octets', () => reject(bytes(0x04, 0x85, 0, 0, 0, 0, 1, 0x61), (r) => r.octets()));
  it('an indefinite length', () => reject(bytes(0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00), (r) => r.element()));
  it('a multi-byte tag', () => reject(bytes(0x1f, 0x81, 0x01, 0x00), (r) => r.element()));
  it('reading past the end', () => reject(Buffer.alloc(0), (r) => r.element()));
  it('trailing bytes at finish', () => {
    const r = new BerReader(bytes(0x02, 0x01, 0x05, 0x00));
    expect(r.integer()).toBe(5);
    expect(() => r.finish()).toThrow(BerError);
  });
  it('a constructed OCTET STRING (0x24) is not an OCTET STRING', () => reject(bytes(0x24, 0x03, 0x04, 0x01, 0x61), (r) => r.string()));

  it('invalid UTF-8 in a string', () => {
    for (const bad of [[0xff], [0xc3], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]) {
      reject(Buffer.from([0x04, bad.length, ...bad]), (r) => r.string());
      expect(() => decodeUtf8(Buffer.from(bad))).toThrow(BerError);
    }
  });

  it('a reader over a sub-element does not see its parent’s bytes', () => {
    const r = new BerReader(bytes(0x30, 0x03, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02));
    const { body } = r.element(Tag.Sequence);
    expect(body.integer()).toBe(1);
    expect(body.done).toBe(true);
    expect(() => body.integer()).toThrow(BerError);
    expect(r.integer()).toBe(2);
  });

  it('peekTag is undefined at the end', () => {
    const r = new BerReader(bytes(0x05, 0x00));
    expect(r.peekTag()).toBe(5);
    r.skip();
    expect(r.peekTag()).toBeUndefined();
  });
});

describe('readLength', () => {
  it('short and long forms', () => {
    expect(readLength(bytes(0x05), 0, 1)).toEqual({ length: 5, next: 1 });
    expect(readLength(bytes(0x81, 0x80), 0, 2)).toEqual({ length: 128, next: 2 });
    expect(readLength(bytes(0x83, 0x01, 0x00, 0x00), 0, 4)).toEqual({ length: 65536, next: 4 });
    expect(readLength(bytes(0x84, 0xff, 0xff, 0xff, 0xff), 0, 5)).toEqual({ length: 0xffffffff, next: 5 });
  });
  it('undefined when bytes are missing', () => {
    expect(readLength(bytes(), 0, 0)).toBeUndefined();
    expect(readLength(bytes(0x82, 0x01), 0, 2)).toBeUndefined();
  });
  it('throws on an indefinite length or too many length octets', () => {
    expect(() => readLength(bytes(0x80), 0, 1)).toThrow(BerError);
    expect(() => readLength(bytes(0x85, 1, 1, 1, 1, 1), 0, 6)).toThrow(BerError);
    expect(() => readLength(bytes(0xff), 0, 1)).toThrow(BerError);
  });
});

describe('pduLength', () => {
  const max = 1024;
  it('undefined while the header is incomplete', () => {
    expect(pduLength(Buffer.alloc(0), max)).toBeUndefined();
    expect(pduLength(bytes(0x30), max)).toBeUndefined();
    expect(pduLength(bytes(0x30, 0x82), max)).toBeUndefined();
    expect(pduLength(bytes(0x30, 0x82, 0x01), max)).toBeUndefined();
  });
  it('the total size once the header is there, even if the body is not', () => {
    expect(pduLength(bytes(0x30, 0x05), max)).toBe(7);
    expect(pduLength(bytes(0x30, 0x82, 0x01, 0x00), max)).toBe(260);
    expect(pduLength(bytes(0x30, 0x00), max)).toBe(2);
  });
  it('throws when the PDU is not a SEQUENCE', () => {
    for (const first of [0x00, 0x02, 0x04, 0x31, 0x60, 0xff]) expect(() => pduLength(bytes(first, 0x00), max)).toThrow(BerError);
  });
  it('throws on an invalid length', () => {
    expect(() => pduLength(bytes(0x30, 0x80), max)).toThrow(BerError);
    expect(() => pduLength(bytes(0x30, 0x85, 0, 0, 0, 0, 1), max)).toThrow(BerError);
  });
  it('throws as soon as the header announces more than the limit, before the body arrives', () => {
    expect(pduLength(bytes(0x30, 0x82, 0x03, 0xfc), max)).toBe(1024);
    expect(() => pduLength(bytes(0x30, 0x82, 0x03, 0xfd), max)).toThrow(/exceeds the limit/);
    expect(() => pduLength(bytes(0x30, 0x84, 0xff, 0xff, 0xff, 0xff), max)).toThrow(BerError);
    expect(() => pduLength(bytes(0x30, 0x84, 0x05, 0xf5, 0xe1, 0x00), 64 * 1024)).toThrow(BerError); // 100 MB
  });
});
