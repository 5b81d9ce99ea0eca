import { describe, expect, it } from 'vitest';
import type { ImportRow } from './services/user-import.js';
import { CsvFileError, mapHeader, readUsersCsv } from './csv-users.js';

async function rows(content: string): Promise<ImportRow[]> {
  const out: ImportRow[] = [];
  for await (const row of readUsersCsv(content)) out.push(row);
  return out;
}

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
  it('keeps line numbers, quoting, a BOM and empty cells as absent values', async () => {
    expect(await rows('\uFEFFusername,email,lastname,sudo\na,a@x.test,"Smith, Jr",\n\nb,b@x.test,,true\n')).toEqual([
      { line: 2, input: { username: 'a', email: 'a@x.test', lastname: 'Smith, Jr' } },
      { line: 4, input: { username: 'b', email: 'b@x.test', sudo: true } },
    ]);
  });

  it('carries a bad cell as a problem of its row, with the line', async () => {
    expect(await rows('username,email,uid\na,a@x.test,-5\n')).toEqual([
      { line: 2, input: { username: 'a', email: 'a@x.test' }, problems: [{ field: 'unixUid', message: 'unixUid must be a whole number, not "-5"' }] },
    ]);
  });

  it('reports a malformed file, a bad header or an empty file as a whole', async () => {
    await expect(rows('username,email\n"a,a@x.test\n')).rejects.toBeInstanceOf(CsvFileError);
    await expect(rows('username,emial\n')).rejects.toThrow('unknown column "emial"');
    await expect(rows('')).rejects.toThrow('the file is empty');
  });

  it('builds phone numbers, one work address and custom attributes', async () => {
    const [row] = await rows('username,email,mobile,city,country,attr.badge\na,a@x.test,+1 555,Oslo,NO,42\n');
    expect(row!.input).toEqual({
      username: 'a',
      email: 'a@x.test',
      phoneNumbers: [{ type: 'mobile', number: '+1 555' }],
      addresses: [{ type: 'work', locality: 'Oslo', country: 'NO' }],
      attributes: [{ name: 'badge', value: '42' }],
    });
  });
});
