import type { ExportOp, ExportOutcome } from '../core/services/directory-export.js';
import type { SourceObject } from '../core/services/directory-sync.js';

/**
 * What a cloud directory (Google Workspace, Microsoft 365) read: users first, then groups with
 * their full lists of direct members. Attribute names are the connector's normalized ones
 * (lowercase), the names a directory's attribute map refers to.
 */
export interface CloudRead {
  /** `full`: the whole scope (its ids in `seen`); `incremental`: what changed since the cursor. */
  mode: 'full' | 'incremental';
  objects: SourceObject[];
  /** A full read's every external id in the scope, for finding what left it. */
  seen?: { users: string[]; groups: string[] };
  /** Where the next incremental read starts (Graph: the delta links); null when the directory has no change feed (Google). */
  cursor: string | null;
}

export interface ApplyOptions {
  /** With `create_user`: the user's password, when Roster has it at hand (a password change). Otherwise the connector sets a random one. */
  password?: string;
}

/**
 * One cloud directory, reached through its official client library. Every call retries transient
 * failures itself (429 and 5xx, honouring Retry-After) and turns the rest into a SyncError:
 * `stop` when the credentials are refused (the run ends), `bad_request`, `conflict` or
 * `not_found` for one object.
 */
export interface CloudConnector {
  /** Reads the scope: in full when `cursor` is null (or the directory has no change feed), else the changes since it. */
  read(cursor: string | null): Promise<CloudRead>;
  /**
   * Carries out one write planned by the export. The directory refusing it is an outcome with
   * `ok: false` and its reason, never a throw; only `stop` throws. A create that finds the account
   * there already (its answer was lost, or an unlinked account of the same name) takes it over
   * unless it is privileged, so that nothing is created twice.
   */
  apply(op: ExportOp, options?: ApplyOptions): Promise<ExportOutcome>;
  /** Sets the account's password; a SyncError `bad_request` carrying the directory's reason when its policy refuses it. */
  setPassword(externalId: string, password: string): Promise<void>;
}
