import { describe, expect, it } from 'vitest';
import { checkUserInput, LIMITS, type UserInput } from './user-input.js';

const create = (input: Partial<UserInput>) => checkUserInput({ username: 'ada', email: 'ada@example.com', ...input }, 'create');
const update = (input: UserInput) => checkUserInput(input, 'update');
const reasons = (r: ReturnType<typeof checkUserInput>) => r.errors.map((e) => `${e.field}:${e.reason}`);

describe('checkUserInput: identity fields', () => {
  it('create needs a username and an email; update needs neither', () => {
    expect(reasons(checkUserInput({}, 'create'))).toEqual(['username:REQUIRED', 'email:REQUIRED']);
    expect(update({}).errors).toEqual([]);
    expect(update({}).value).toEqual({ profile: {} });
  });

  it('trims and normalises to NFC', () => {
    const r = create({ username: '  A\u0308da.Lovelace ', email: ' Ada@Example.com ', firstname: 'Zoe\u0308' });
    expect(r.errors).toEqual([]);
    expect(r.value.profile.username).toBe('Äda.Lovelace');
    expect(r.value.profile.username).toBe('Äda.Lovelace'.normalize('NFC'));
    expect(r.value.profile.email).toBe('Ada@Example.com');
    expect(r.value.profile.firstname).toBe('Zoë');
  });

  it.each(['ada', 'Ada.Lovelace', 'a_b-c', "o'brien", 'ada+test@corp', 'ßtraße', '山田', 'x\u0327y', '1user'])('accepts username %j', (username) => {
    expect(create({ username }).errors).toEqual([]);
  });

  it.each(['.ada', '-ada', '_ada', 'ada lovelace', 'ada/b', 'ada,b', 'a*', 'a;b', 'a"b', '   '])('refuses username %j', (username) => {
    const r = create({ username });
    expect(reasons(r)).toEqual([username.trim() === '' ? 'username:REQUIRED' : 'username:INVALID_USERNAME']);
    expect(r.value.profile.username).toBeUndefined();
  });

  it('refuses usernames in compatibility forms, which LDAP would compare equal to another name', () => {
    for (const username of ['ａｄａ', 'ﬁona', 'ada²']) {
      const r = create({ username });
      expect(reasons(r)).toEqual(['username:INVALID_USERNAME']);
      expect(r.errors[0]!.message).toContain(username.normalize('NFKC'));
    }
    expect(reasons(create({ username: 'zoë.ångström' }))).toEqual([]);
  });

  it('limits username and email length, counting characters', () => {
    expect(create({ username: 'a'.repeat(LIMITS.username) }).errors).toEqual([]);
    expect(reasons(create({ username: 'a'.repeat(LIMITS.username + 1) }))).toEqual(['username:TOO_LONG']);
    expect(create({ username: '山'.repeat(LIMITS.username) }).errors).toEqual([]);
    const local = 'a'.repeat(LIMITS.email - '@example.com'.length);
    expect(create({ email: `${local}@example.com` }).errors).toEqual([]);
    expect(reasons(create({ email: `a${local}@example.com` }))).toEqual(['email:TOO_LONG']);
  });

  it.each(['ada', 'ada@', '@example.com', 'ada@example', 'a b@example.com', 'ada@@example.com', '<ada>@example.com', 'ada@example.com,bob@example.com'])(
    'refuses email %j',
    (email) => {
      expect(reasons(create({ email }))).toEqual(['email:INVALID_EMAIL']);
    },
  );

  it('refuses control characters in every text field', () => {
    expect(reasons(create({ username: 'ada\u0000' }))).toEqual(['username:CONTROL_CHARACTER']);
    expect(reasons(create({ email: 'ada@exa\nmple.com' }))).toEqual(['email:CONTROL_CHARACTER']);
    expect(reasons(create({ lastname: 'Love\tlace' }))).toEqual(['lastname:CONTROL_CHARACTER']);
    expect(reasons(create({ description: 'bell\u0007' }))).toEqual(['description:CONTROL_CHARACTER']);
    expect(reasons(create({ jobTitle: 'del\u007f' }))).toEqual(['jobTitle:CONTROL_CHARACTER']);
  });

  it('refuses non-strings where text is expected', () => {
    expect(reasons(create({ username: 42 as unknown as string }))).toEqual(['username:NOT_A_STRING']);
    expect(reasons(create({ department: ['x'] as unknown as string }))).toEqual(['department:NOT_A_STRING']);
  });
});

describe('checkUserInput: profile fields', () => {
  it('text fields: limit, NFC, null means empty', () => {
    expect(create({ description: 'd'.repeat(LIMITS.text) }).errors).toEqual([]);
    expect(reasons(create({ description: 'd'.repeat(LIMITS.text + 1) }))).toEqual(['description:TOO_LONG']);
    expect(update({ department: null as unknown as string }).value.profile.department).toBe('');
    expect(update({ company: 'Cafe\u0301' }).value.profile.company).toBe('Café');
  });

  it('alternateEmail may be empty, otherwise an address', () => {
    expect(update({ alternateEmail: '' }).value.profile.alternateEmail).toBe('');
    expect(update({ alternateEmail: ' b@x.test ' }).value.profile.alternateEmail).toBe('b@x.test');
    expect(reasons(update({ alternateEmail: 'nope' }))).toEqual(['alternateEmail:INVALID_EMAIL']);
  });

  it('employeeIdentifier: trimmed, and empty or null clears it', () => {
    expect(update({ employeeIdentifier: ' E-1 ' }).value.profile.employeeIdentifier).toBe('E-1');
    expect(update({ employeeIdentifier: '' }).value.profile).toEqual({ employeeIdentifier: null });
    expect(update({ employeeIdentifier: '   ' }).value.profile).toEqual({ employeeIdentifier: null });
    expect(update({ employeeIdentifier: null }).value.profile).toEqual({ employeeIdentifier: null });
    expect(reasons(update({ employeeIdentifier: 'e'.repeat(LIMITS.employeeIdentifier + 1) }))).toEqual(['employeeIdentifier:TOO_LONG']);
  });

  it('manager: a well-formed id, or empty/null to clear', () => {
    expect(update({ manager: '0123456789abcdef01234567' }).value.profile.manager).toBe('0123456789abcdef01234567');
    expect(update({ manager: '' }).value.profile).toEqual({ manager: null });
    expect(update({ manager: null }).value.profile).toEqual({ manager: null });
    for (const bad of ['nope', '0123456789ABCDEF01234567', '0123456789abcdef0123456', 7 as unknown as string]) {
      expect(reasons(update({ manager: bad }))).toEqual(['manager:INVALID_ID']);
    }
  });

  it('flags must be booleans', () => {
    expect(update({ sudo: true, passwordlessSudo: false, ldapBindingUser: true, passwordNeverExpires: true, externallyManaged: false }).value.profile).toEqual({
      sudo: true,
      passwordlessSudo: false,
      ldapBindingUser: true,
      passwordNeverExpires: true,
      externallyManaged: false,
    });
    expect(reasons(update({ sudo: 'true' as unknown as boolean, ldapBindingUser: 1 as unknown as boolean }))).toEqual(['sudo:NOT_A_BOOLEAN', 'ldapBindingUser:NOT_A_BOOLEAN']);
  });

  it('unix ids: integers from 1 to 2^31-1', () => {
    expect(update({ unixUid: 1, unixGuid: LIMITS.maxUnixId }).value.profile).toEqual({ unixUid: 1, unixGuid: LIMITS.maxUnixId });
    for (const bad of [0, -1, 1.5, LIMITS.maxUnixId + 1, Number.NaN, '5000' as unknown as number]) {
      expect(reasons(update({ unixUid: bad })), String(bad)).toEqual(['unixUid:OUT_OF_RANGE']);
    }
  });

  it('phone numbers and addresses keep known keys only, as checked text', () => {
    const r = update({
      phoneNumbers: [{ type: 'work', number: '+1 555', extra: 'dropped' } as never],
      addresses: [{ type: 'home', locality: 'Zu\u0308rich', country: null as unknown as string, bogus: 1 } as never],
    });
    expect(r.errors).toEqual([]);
    expect(r.value.profile.phoneNumbers).toEqual([{ type: 'work', number: '+1 555' }]);
    expect(r.value.profile.addresses).toEqual([{ type: 'home', locality: 'Zürich' }]);
  });

  it('lists: must be lists of objects, at most 50 entries, each field checked', () => {
    expect(reasons(update({ phoneNumbers: 'x' as never }))).toEqual(['phoneNumbers:NOT_A_LIST']);
    expect(reasons(update({ phoneNumbers: Array.from({ length: LIMITS.listItems + 1 }, () => ({ number: '1' })) }))).toEqual(['phoneNumbers:TOO_MANY']);
    expect(update({ phoneNumbers: Array.from({ length: LIMITS.listItems }, () => ({ number: '1' })) }).errors).toEqual([]);
    expect(reasons(update({ addresses: [null as never, ['x'] as never] }))).toEqual(['addresses[0]:NOT_AN_OBJECT', 'addresses[1]:NOT_AN_OBJECT']);
    expect(reasons(update({ phoneNumbers: [{ number: 'a\nb' }] }))).toEqual(['phoneNumbers[0].number:CONTROL_CHARACTER']);
  });

  it('custom attributes: valid unique names, values default to empty, at most 200', () => {
    expect(update({ attributes: [{ name: 'team.name', value: 'x' }, { name: 'cost_center-2', value: undefined as unknown as string }] }).value.profile.attributes).toEqual([
      { name: 'team.name', value: 'x' },
      { name: 'cost_center-2', value: '' },
    ]);
    expect(reasons(update({ attributes: [{ name: 'bad name', value: 'x' }] }))).toEqual(['attributes[0].name:INVALID_NAME']);
    expect(reasons(update({ attributes: [{ name: 'Team', value: 'a' }, { name: 'TEAM', value: 'b' }] }))).toEqual(['attributes[1].name:DUPLICATE']);
    expect(reasons(update({ attributes: [{ name: 'Straße', value: 'a' }, { name: 'STRASSE', value: 'b' }] }))).toEqual(['attributes[1].name:DUPLICATE']);
    expect(reasons(update({ attributes: Array.from({ length: LIMITS.attributes + 1 }, (_, i) => ({ name: `a${i}`, value: '' })) }))).toEqual(['attributes:TOO_MANY']);
    expect(reasons(update({ attributes: [{ name: 'n'.repeat(LIMITS.attributeName + 1), value: '' }] }))).toEqual(['attributes[0].name:TOO_LONG']);
  });
});

describe('checkUserInput: state, lock, password', () => {
  it('state must be a known state', () => {
    expect(update({ state: 'STAGED' }).value.state).toBe('STAGED');
    expect(reasons(update({ state: 'DELETED' as never }))).toEqual(['state:INVALID_STATE']);
  });

  it('suspended: true suspends, false without a state unsuspends, a contradiction is refused', () => {
    expect(update({ suspended: true }).value).toEqual({ profile: {}, state: 'SUSPENDED' });
    expect(update({ suspended: false }).value).toEqual({ profile: {}, unsuspend: true });
    expect(update({ suspended: false, state: 'STAGED' }).value).toEqual({ profile: {}, state: 'STAGED' });
    expect(update({ suspended: true, state: 'SUSPENDED' }).value.state).toBe('SUSPENDED');
    expect(reasons(update({ suspended: true, state: 'ACTIVATED' }))).toEqual(['suspended:CONTRADICTS_STATE']);
    expect(reasons(update({ suspended: false, state: 'SUSPENDED' }))).toEqual(['suspended:CONTRADICTS_STATE']);
    expect(reasons(update({ suspended: 'yes' as never }))).toEqual(['suspended:NOT_A_BOOLEAN']);
  });

  it('accountLocked must be a boolean', () => {
    expect(update({ accountLocked: false }).value.accountLocked).toBe(false);
    expect(reasons(update({ accountLocked: 0 as never }))).toEqual(['accountLocked:NOT_A_BOOLEAN']);
  });

  it('password must be a non-empty string and is passed on untouched', () => {
    expect(update({ password: ' Pässword 1 ' }).value.password).toBe(' Pässword 1 ');
    expect(reasons(update({ password: '' }))).toEqual(['password:REQUIRED']);
    expect(reasons(update({ password: 12 as never }))).toEqual(['password:REQUIRED']);
  });

  it('passwordExpirationDate: a date with zone handling, or empty/null to clear', () => {
    expect(update({ passwordExpirationDate: '2024-05-01T12:00:00+02:00' }).value.passwordExpirationDate).toBe('2024-05-01T10:00:00.000Z');
    expect(update({ passwordExpirationDate: '2024-05-01' }).value.passwordExpirationDate).toBe('2024-05-01T00:00:00.000Z');
    expect(update({ passwordExpirationDate: '' }).value).toEqual({ profile: {}, passwordExpirationDate: null });
    expect(update({ passwordExpirationDate: null }).value).toEqual({ profile: {}, passwordExpirationDate: null });
    expect(reasons(update({ passwordExpirationDate: 'next week' }))).toEqual(['passwordExpirationDate:INVALID_DATE']);
  });

  it('reports every error together, and keeps only valid values', () => {
    const r = checkUserInput({ username: '.bad', email: 'bad', unixUid: 0, sudo: true, department: 'ok' }, 'create');
    expect(reasons(r)).toEqual(['username:INVALID_USERNAME', 'email:INVALID_EMAIL', 'unixUid:OUT_OF_RANGE']);
    expect(r.value.profile).toEqual({ department: 'ok', sudo: true });
    expect(r.errors.every((e) => e.message.length > 0)).toBe(true);
  });
});
