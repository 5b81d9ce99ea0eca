import { parse } from 'csv-parse/sync';
import type { ImportRow } from '../core/services/user-import.js';
import type { UserInput } from '../core/user-input.js';
import type { Address, PhoneNumber } from '../core/model.js';

type Target =
  | { kind: 'text'; field: keyof UserInput }
  | { kind: 'flag'; field: keyof UserInput }
  | { kind: 'int'; field: keyof UserInput }
  | { kind: 'manager' }
  | { kind: 'phone'; type: string }
  | { kind: 'address'; key: keyof Address }
  | { kind: 'attribute'; name: string };

const text = (field: keyof UserInput): Target => ({ kind: 'text', field });
const flag = (field: keyof UserInput): Target => ({ kind: 'flag', field });

/** Accepted column names, compared without case, spaces, dashes or underscores. */
const COLUMNS: Record<string, Target> = {
  username: text('username'), login: text('username'),
  email: text('email'), emailaddress: text('email'), mail: text('email'),
  firstname: text('firstname'), givenname: text('firstname'),
  middlename: text('middlename'),
  lastname: text('lastname'), surname: text('lastname'), familyname: text('lastname'),
  displayname: text('displayname'),
  employeeidentifier: text('employeeIdentifier'), employeeid: text('employeeIdentifier'), employeenumber: text('employeeIdentifier'),
  employeetype: text('employeeType'),
  jobtitle: text('jobTitle'), title: text('jobTitle'),
  department: text('department'),
  company: text('company'),
  costcenter: text('costCenter'),
  location: text('location'),
  manager: { kind: 'manager' }, managerid: { kind: 'manager' }, manageremail: { kind: 'manager' }, managerusername: { kind: 'manager' },
  alternateemail: text('alternateEmail'),
  description: text('description'),
  state: text('state'),
  password: text('password'),
  unixuid: { kind: 'int', field: 'unixUid' }, uid: { kind: 'int', field: 'unixUid' },
  unixguid: { kind: 'int', field: 'unixGuid' }, gid: { kind: 'int', field: 'unixGuid' },
  sudo: flag('sudo'),
  passwordlesssudo: flag('passwordlessSudo'),
  ldapbindinguser: flag('ldapBindingUser'),
  passwordneverexpires: flag('passwordNeverExpires'),
  phone: { kind: 'phone', type: 'work' }, phonenumber: { kind: 'phone', type: 'work' }, workphone: { kind: 'phone', type: 'work' },
  mobile: { kind: 'phone', type: 'mobile' }, mobilephone: { kind: 'phone', type: 'mobile' }, mobilenumber: { kind: 'phone', type: 'mobile' },
  homephone: { kind: 'phone', type: 'home' },
  streetaddress: { kind: 'address', key: 'streetAddress' }, street: { kind: 'address', key: 'streetAddress' },
  city: { kind: 'address', key: 'locality' }, locality: { kind: 'address', key: 'locality' },
  region: { kind: 'address', key: 'region' }, province: { kind: 'address', key: 'region' },
  postalcode: { kind: 'address', key: 'postalCode' }, zip: { kind: 'address', key: 'postalCode' }, zipcode: { kind: 'address', key: 'postalCode' }, postcode: { kind: 'address', key: 'postalCode' },
  country: { kind: 'address', key: 'country' },
  pobox: { kind: 'address', key: 'poBox' },
};

const normalise = (header: string) => header.toLowerCase().replace(/[\s_-]+/g, '');

const ATTRIBUTE_COLUMN = /^(attribute|attr)[.:](.+)$/i;

/** Maps a header row to targets; unknown columns are an error for the whole file, not guessed at. */
export function mapHeader(headers: string[]): { targets: Target[]; errors: string[] } {
  const targets: Target[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const header of headers) {
    const attribute = ATTRIBUTE_COLUMN.exec(header.trim());
    const target: Target | undefined = attribute ? { kind: 'attribute', name: attribute[2]!.trim() } : COLUMNS[normalise(header)];
    if (!target) {
      errors.push(`unknown column "${header}" (custom attributes go in columns named attribute.<name>)`);
      continue;
    }
    const key = JSON.stringify(target);
    if (seen.has(key)) errors.push(`column "${header}" repeats another column`);
    seen.add(key);
    targets.push(target);
  }
  if (!targets.some((t) => t.kind === 'text' && t.field === 'username')) errors.push('a username column is required');
  if (!targets.some((t) => t.kind === 'text' && t.field === 'email')) errors.push('an email column is required');
  return { targets, errors };
}

const TRUE = new Set(['true', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'no', 'n', '0']);

export interface ParsedCsv {
  rows: ImportRow[];
  /** Problems with single cells, by line; the rows they belong to are left out. */
  cellErrors: { line: number; field: string; message: string }[];
  /** Problems with the file itself (header, quoting); nothing can be imported. */
  fileErrors: string[];
}

/** Parses a CSV export into import rows; each row keeps its line number in the file. */
export function parseUsersCsv(content: string | Buffer): ParsedCsv {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(content, { bom: true, info: true, skip_empty_lines: true, relax_column_count: false, trim: true }) as never;
  } catch (e) {
    return { rows: [], cellErrors: [], fileErrors: [(e as Error).message] };
  }
  if (records.length === 0) return { rows: [], cellErrors: [], fileErrors: ['the file is empty'] };
  const [header, ...body] = records;
  const { targets, errors } = mapHeader(header!.record);
  if (errors.length > 0) return { rows: [], cellErrors: [], fileErrors: errors };

  const rows: ImportRow[] = [];
  const cellErrors: ParsedCsv['cellErrors'] = [];
  for (const { record, info } of body) {
    const line = info.lines;
    const input: UserInput = {};
    const phones: PhoneNumber[] = [];
    const address: Address = {};
    const attributes: { name: string; value: string }[] = [];
    let managerRef: string | undefined;
    let bad = false;
    targets.forEach((target, i) => {
      const cell = record[i] ?? '';
      if (cell === '') return;
      switch (target.kind) {
        case 'text':
          (input as Record<string, unknown>)[target.field] = cell;
          break;
        case 'flag': {
          const v = cell.toLowerCase();
          if (TRUE.has(v)) (input as Record<string, unknown>)[target.field] = true;
          else if (FALSE.has(v)) (input as Record<string, unknown>)[target.field] = false;
          else {
            cellErrors.push({ line, field: target.field, message: `${target.field} must be true or false, not "${cell}"` });
            bad = true;
          }
          break;
        }
        case 'int':
          if (!/^\d{1,10}$/.test(cell)) {
            cellErrors.push({ line, field: target.field, message: `${target.field} must be a whole number, not "${cell}"` });
            bad = true;
          } else (input as Record<string, unknown>)[target.field] = Number(cell);
          break;
        case 'manager':
          managerRef = cell;
          break;
        case 'phone':
          phones.push({ type: target.type, number: cell });
          break;
        case 'address':
          address[target.key] = cell;
          break;
        case 'attribute':
          attributes.push({ name: target.name, value: cell });
          break;
      }
    });
    if (bad) continue;
    if (phones.length > 0) input.phoneNumbers = phones;
    if (Object.keys(address).length > 0) input.addresses = [{ type: 'work', ...address }];
    if (attributes.length > 0) input.attributes = attributes;
    rows.push({ line, input, ...(managerRef ? { managerRef } : {}) });
  }
  return { rows, cellErrors, fileErrors: [] };
}
