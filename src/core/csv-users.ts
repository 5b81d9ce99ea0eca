import { parse } from 'csv-parse';
import type { ImportRow } from './services/user-import.js';
import type { UserInput } from './user-input.js';
import type { Address, PhoneNumber } from './model.js';

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

/** The file cannot be read as a users CSV at all (header, quoting): nothing can be imported. */
export class CsvFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'CsvFileError';
  }
}

function toRow(targets: Target[], record: string[], line: number): ImportRow {
  const input: UserInput = {};
  const phones: PhoneNumber[] = [];
  const address: Address = {};
  const attributes: { name: string; value: string }[] = [];
  const problems: { field: string; message: string }[] = [];
  let managerRef: string | undefined;
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
        else problems.push({ field: target.field, message: `${target.field} must be true or false, not "${cell}"` });
        break;
      }
      case 'int':
        if (!/^\d{1,10}$/.test(cell)) problems.push({ field: target.field, message: `${target.field} must be a whole number, not "${cell}"` });
        else (input as Record<string, unknown>)[target.field] = Number(cell);
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
  if (phones.length > 0) input.phoneNumbers = phones;
  if (Object.keys(address).length > 0) input.addresses = [{ type: 'work', ...address }];
  if (attributes.length > 0) input.attributes = attributes;
  return { line, input, ...(managerRef ? { managerRef } : {}), ...(problems.length > 0 ? { problems } : {}) };
}

/**
 * Streams the rows of a users CSV, each with its line number, without holding them all: the
 * import reads the file twice (check, then write). A bad header or broken quoting throws
 * CsvFileError; a bad cell travels with its row as a problem.
 */
export async function* readUsersCsv(content: string | Buffer): AsyncGenerator<ImportRow> {
  const parser = parse(content, {
    bom: true,
    skip_empty_lines: true,
    relax_column_count: false,
    trim: true,
    // Keep the line number from each record's context, not the whole info object.
    on_record: ((record: string[], context: { lines: number }) => ({ record, line: context.lines })) as never,
  });
  let targets: Target[] | undefined;
  try {
    for await (const { record, line } of parser as AsyncIterable<{ record: string[]; line: number }>) {
      if (!targets) {
        const header = mapHeader(record);
        if (header.errors.length > 0) throw new CsvFileError(header.errors);
        targets = header.targets;
        continue;
      }
      yield toRow(targets, record, line);
    }
  } catch (e) {
    if (e instanceof CsvFileError) throw e;
    throw new CsvFileError([(e as Error).message]);
  }
  if (!targets) throw new CsvFileError(['the file is empty']);
}
