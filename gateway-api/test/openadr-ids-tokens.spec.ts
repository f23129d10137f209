import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { AccessTokens } from '../src/openadr/auth/access-tokens';
import { derivedId, parseDerivedId } from '../src/openadr/object-ids';

const KEY = Buffer.alloc(32, 1);
const OTHER_KEY = Buffer.alloc(32, 2);
const CLAIMS = { sub: 'client-a-0123456789abcdef', role: 'ven', scope: 'read_all write_reports' } as const;

describe('OpenADR VTN: access tokens', () => {
  it('verifies a token it issued, with its claims and expiry', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const tokens = new AccessTokens(KEY, 600, () => now);
    const issued = tokens.issue(CLAIMS);
    expect(issued.expiresIn).to.equal(600);
    expect(tokens.verify(issued.token)).to.deep.equal({ ...CLAIMS, exp: now / 1000 + 600 });
  });

  it('defaults to an hour', () => {
    expect(new AccessTokens(KEY).issue(CLAIMS).expiresIn).to.equal(3600);
  });

  it('refuses a token once expired', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const tokens = new AccessTokens(KEY, 60, () => now);
    const { token } = tokens.issue(CLAIMS);
    now += 59_000;
    expect(tokens.verify(token)).to.not.equal(undefined);
    now += 1_000;
    expect(tokens.verify(token)).to.equal(undefined);
  });

  it('refuses a token whose claims or mac were changed', () => {
    const tokens = new AccessTokens(KEY);
    const { token } = tokens.issue(CLAIMS);
    const [body, mac] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedBody = Buffer.from(JSON.stringify({ ...claims, role: 'bl', sub: 'bl:DSOMSP' })).toString(
      'base64url',
    );
    expect(tokens.verify(`${forgedBody}.${mac}`)).to.equal(undefined);
    const flipped = `${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(tokens.verify(`${body}.${flipped}`)).to.equal(undefined);
    expect(tokens.verify(`${body}.${mac.slice(1)}`)).to.equal(undefined);
  });

  it('refuses a token of another key', () => {
    const { token } = new AccessTokens(OTHER_KEY).issue(CLAIMS);
    expect(new AccessTokens(KEY).verify(token)).to.equal(undefined);
  });

  it('refuses malformed tokens', () => {
    const tokens = new AccessTokens(KEY);
    const { token } = tokens.issue(CLAIMS);
    for (const malformed of ['', '.', 'abc', `${token}.extra`, `${token}${'a'.repeat(2048)}`, 'a.b.c']) {
      expect(tokens.verify(malformed), malformed.slice(0, 20)).to.equal(undefined);
    }
    // A correct mac over a body that is not JSON, or has no numeric exp.
    const signed = (body: string): string =>
      `${body}.${createHmac('sha256', KEY).update(body).digest('base64url')}`;
    expect(tokens.verify(signed('not-json'))).to.equal(undefined);
    const noExp = Buffer.from(JSON.stringify({ ...CLAIMS, exp: 'never' })).toString('base64url');
    expect(tokens.verify(signed(noExp))).to.equal(undefined);
  });

  it('refuses keys shorter than 32 bytes', () => {
    expect(() => new AccessTokens(Buffer.alloc(31))).to.throw(/32 bytes/);
  });
});

describe('OpenADR VTN: derived object ids', () => {
  const slotIds = ['slot-1', '2030-01-01T10:15:00.000Z', 'a_b-c:d.e', '__--::..', 'plain'];

  it('round-trips slot ids and subjects with every escaped character', () => {
    for (const kind of ['price', 'dispatch', 'aggregate'] as const) {
      for (const slotId of slotIds) {
        for (const subject of ['bus-1', 'ven_a.b:c', 'x']) {
          const id = derivedId(kind, slotId, subject);
          expect(id, `${kind} ${slotId} ${subject}`).to.match(/^[a-zA-Z0-9_-]{1,128}$/);
          expect(parseDerivedId(id!)).to.deep.equal({ kind, slotId, subject });
        }
      }
    }
  });

  it('keeps the parts apart: only the separators are dashes', () => {
    expect(derivedId('price', 'a-b', 'c')).to.equal('price-a_hb-c');
    expect(derivedId('price', 'a', 'b-c')).to.equal('price-a-b_hc');
    expect(derivedId('price', 's:1.2_3', 'bus')).to.equal('price-s_c1_d2_u3-bus');
  });

  it('answers undefined for an id longer than 128 characters', () => {
    expect(derivedId('price', 's'.repeat(119), 'bus')).to.equal(undefined);
    expect(derivedId('price', 's'.repeat(118), 'bus')).to.have.length(128);
    // Escapes count: 40 dashes become 80 characters.
    expect(derivedId('dispatch', '-'.repeat(60), 'v')).to.equal(undefined);
  });

  it('parses no foreign id', () => {
    for (const foreign of [
      'report-abc',
      'sub-xyz',
      'price',
      'price-slot',
      'price-slot-bus-extra',
      'event-slot-bus',
      'price--bus',
      'price-slot-',
      'price-a_xb-c',
      'price-a_-c',
      'price-a_',
      'PRICE-slot-bus',
      'hems-timeslots',
    ]) {
      expect(parseDerivedId(foreign), foreign).to.equal(undefined);
    }
  });
});
