import { Ber, BerReader, BerWriter, Control } from 'ldapts';

/**
 * The Active Directory request controls the client sends, as ldapts controls. ldapts parses a
 * response control whose OID it does not know into the request control of the same OID (its
 * ControlParser looks the OID up among the request's controls and calls `parse` on that object), so
 * each class keeps what the server answered in `response`, apart from what it sends.
 */

export const OID = {
  pagedResults: '1.2.840.113556.1.4.319',
  showDeleted: '1.2.840.113556.1.4.417',
  notification: '1.2.840.113556.1.4.528',
  dirSync: '1.2.840.113556.1.4.841',
  treeDelete: '1.2.840.113556.1.4.805',
  permissiveModify: '1.2.840.113556.1.4.1413',
  matchingRuleInChain: '1.2.840.113556.1.4.1941',
} as const;

/** DirSync request flags ([MS-ADTS] 3.1.1.3.4.1.3). */
export const DIRSYNC_FLAGS = {
  /** Return only what the caller may read, instead of requiring the replicate-changes right. */
  OBJECT_SECURITY: 0x1,
  /** Parents before children. */
  ANCESTORS_FIRST_ORDER: 0x800,
  /** No secret attributes even when the caller could read them. */
  PUBLIC_DATA_ONLY: 0x2000,
  /** Linked values (member) as the values added or removed instead of the whole attribute; never set here. */
  INCREMENTAL_VALUES: 0x80000000,
} as const;

/** Wraps a BER sequence as a control value (an OCTET STRING). */
function writeValue(writer: BerWriter, fill: (inner: BerWriter) => void): void {
  const inner = new BerWriter();
  inner.startSequence();
  fill(inner);
  inner.endSequence();
  writer.writeBuffer(inner.buffer, Ber.OctetString);
}

export interface DirSyncResponse {
  /** The server has more changes than it returned: ask again with `cookie`. */
  more: boolean;
  cookie: Buffer;
}

/**
 * LDAP_SERVER_DIRSYNC_OID: request { flags, maxBytes, cookie }; response { moreResults, unused,
 * cookie }. AD requires it critical.
 */
export class DirSyncControl extends Control {
  response?: DirSyncResponse;

  constructor(
    readonly flags: number,
    readonly cookie: Buffer | null,
    readonly maxBytes = 0x100000,
  ) {
    super(OID.dirSync, { critical: true });
  }

  protected override writeControl(writer: BerWriter): void {
    writeValue(writer, (inner) => {
      inner.writeInt(this.flags);
      inner.writeInt(this.maxBytes);
      if (this.cookie?.length) inner.writeBuffer(this.cookie, Ber.OctetString);
      else inner.writeString('');
    });
  }

  protected override parseControl(reader: BerReader): void {
    if (reader.readSequence() === null) return;
    const more = reader.readInt() ?? 0;
    reader.readInt();
    const cookie = reader.readString(Ber.OctetString, true) ?? Buffer.alloc(0);
    this.response = { more: more !== 0, cookie };
  }
}

/** A control with no value (show deleted, change notification, tree delete). */
export class FlagControl extends Control {
  constructor(oid: string, critical = true) {
    super(oid, { critical });
  }
}
