import { describe, expect, it } from 'vitest';
import { mapHeader, parseUsersCsv } from './csv-users.js';

describe('CSV header mapping', () => {
  it('accepts common spellings of each column', () => {
    const { targets, errors } = mapHeader(['User Name', 'E-mail', 'first_name', 'Surname', 'Employee ID', 'ZIP', 'attribute.costCode']);
    expect(errors).toEqual([]);
    expect(targets).toHaveLength(7);
  });

  it('names unknown and repeated columns instead of guessing', () => {
    const { errors } = mapHeader(['username', 'email', 'emial', 'Email Address']);
    expect(errors).toContain('unknown column "emial" (custom attributes go in columns named attribute.<name>)');
    expect(errors).toContain('column "Email Address" repeats another column');
  });

  it('requires username and email', () => {
    expect(mapHeader(['firstname']).errors).toEqual(['a username column is required', 'an email column is required']);
  });
});

describe('CSV parsing', () => {
  it('keeps line numbers, quoting, a BOM and empty cells as absent values', () => {
    const parsed = parseUsersCsv('\uFEFFusername,email,lastname,sudo\na,a@x.test,"Smith, Jr",\n\nb,b@x.test,,true\n');
    expect(parsed.fileErrors).toEqual([]);
    expect(parsed.rows).toEqual([
      { line: 2, input: { username: 'a', email: 'a@x.test', lastname: 'Smith, Jr' } },
      { line: 4, input: { username: 'b', email: 'b@x.test', sudo: true } },
    ]);
  });

  it('reports a bad cell with its line and leaves the row out', () => {
    const parsed = parseUsersCsv('username,email,uid\na,a@x.test,-5\n');
    expect(parsed.rows).toEqual([]);
    expect(parsed.cellErrors).toEqual([{ line: 2, field: 'unixUid', message: 'unixUid must be a whole number, not "-5"' }]);
  });

  it('reports a malformed file as a whole', () => {
    const parsed = parseUsersCsv('username,email\n"a,a@x.test\n');
    expect(parsed.fileErrors).toHaveLength(1);
    expect(parsed.rows).toEqual([]);
  });

  it('builds phone numbers, one work address and custom attributes', () => {
    const parsed = parseUsersCsv('username,email,mobile,city,country,attr.badge\na,a@x.test,+1 555,Oslo,NO,42\n');
    expect(parsed.rows[0]!.input).toEqual({
      username: 'a',
      email: 'a@x.test',
      phoneNumbers: [{ type: 'mobile', number: '+1 555' }],
      addresses: [{ type: 'work', locality: 'Oslo', country: 'NO' }],
      attributes: [{ name: 'badge', value: '42' }],
    });
  });
});
