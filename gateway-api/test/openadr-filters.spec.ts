import { expect } from 'chai';
import { AccessTokens } from '../src/openadr/auth/access-tokens';
import { certificateThumbprint } from '../src/openadr/auth/clients';
import { SCOPES } from '../src/openadr/versions';
import {
  bearer,
  blBearer,
  call,
  DSO_CERTIFICATE,
  serialOf,
  startVtn,
  TOKEN_KEY,
  VERSIONS,
  vtnPeople,
  type Vtn,
  type VtnPeople,
} from './support/openadr';

type Json = Record<string, unknown>;

describe('OpenADR VTN: certificate-bound business-logic tokens and target filters', () => {
  let people: VtnPeople;
  let vtn: Vtn;

  before(async () => {
    people = await vtnPeople();
  });
  beforeEach(async () => {
    vtn = await startVtn(people);
  });
  afterEach(() => vtn.app.close());

  for (const version of VERSIONS) {
    describe(version, () => {
      it('binds a business-logic token to the DSO certificate it was issued for (RFC 8705)', async () => {
        const granted = await call(
          vtn.app,
          version,
          'POST',
          '/auth/token',
          {
            ...DSO_CERTIFICATE,
            'content-type': 'application/x-www-form-urlencoded',
          },
          'grant_type=client_credentials',
        );
        expect(granted.statusCode, granted.body).to.equal(200);
        const token = granted.json<{ access_token: string }>().access_token;
        expect(new AccessTokens(TOKEN_KEY).verify(token)?.cnf).to.deep.equal({
          'x5t#S256': certificateThumbprint(people.dso),
        });
        const authorization = `Bearer ${token}`;
        // On a connection presenting that certificate it works; without it, or replayed by another
        // client, it does not.
        expect(
          (await call(vtn.app, version, 'GET', '/events', { authorization, ...DSO_CERTIFICATE })).statusCode,
        ).to.equal(200);
        expect((await call(vtn.app, version, 'GET', '/events', { authorization })).statusCode).to.equal(401);
        // A token claiming business logic without a binding is refused too.
        const unbound = bearer(version, 'bl:DSOMSP', 'bl');
        expect(
          (await call(vtn.app, version, 'GET', '/events', { ...unbound, ...DSO_CERTIFICATE })).statusCode,
        ).to.equal(401);
      });

      it('stops a business-logic token at once when the DSO certificate is revoked', async () => {
        const headers = blBearer(version, vtn);
        expect((await call(vtn.app, version, 'GET', '/events', headers)).statusCode).to.equal(200);
        vtn.revoked.add(serialOf(people.dso));
        expect((await call(vtn.app, version, 'GET', '/events', headers)).statusCode).to.equal(401);
      });

      it('answers only the objects carrying every target asked for', async () => {
        const ven = bearer(version, people.a.clientId);
        const byTargets = (query: string) => call(vtn.app, version, 'GET', `/events?${query}`, ven);
        const own = version === '3.1.0' ? 'targets=bus-1' : 'targetType=GROUP&targetValues=bus-1';
        const other = version === '3.1.0' ? 'targets=bus-9' : 'targetType=GROUP&targetValues=bus-9';
        const wrongType =
          version === '3.1.0' ? 'targets=bus-1&targets=bus-9' : 'targetType=VEN_NAME&targetValues=bus-1';
        const all = (await byTargets('')).json<Json[]>();
        const priced = all.filter((event) => String(event.id).startsWith('price-'));
        expect(priced.length).to.be.greaterThan(0);
        expect((await byTargets(own)).json<Json[]>().map((event) => event.id)).to.deep.equal(
          priced.map((e) => e.id),
        );
        expect((await byTargets(other)).json<Json[]>()).to.deep.equal([]);
        expect((await byTargets(wrongType)).json<Json[]>()).to.deep.equal([]);
        // The program carries no targets: a target filter leaves none.
        expect((await call(vtn.app, version, 'GET', `/programs?${own}`, ven)).json<Json[]>()).to.deep.equal(
          [],
        );
        expect((await call(vtn.app, version, 'GET', '/programs', ven)).json<Json[]>()).to.have.length(1);
      });

      it("filters a VEN's resource by name, and refuses filters the version does not define", async () => {
        const ven = bearer(version, people.a.clientId);
        const path = version === '3.1.0' ? '/resources' : `/vens/${people.a.venId}/resources`;
        expect(
          (await call(vtn.app, version, 'GET', `${path}?resourceName=home`, ven)).json<Json[]>(),
        ).to.have.length(1);
        expect(
          (await call(vtn.app, version, 'GET', `${path}?resourceName=garage`, ven)).json<Json[]>(),
        ).to.deep.equal([]);
        expect((await call(vtn.app, version, 'GET', `${path}?colour=red`, ven)).statusCode).to.equal(400);
        if (version === '3.0.1') {
          const foreign = await call(vtn.app, version, 'GET', `/vens/${people.b.venId}/resources`, ven);
          expect(foreign.json<Json[]>()).to.deep.equal([]);
        }
      });

      it('grants VENs the scopes of their version only', () => {
        expect(SCOPES[version].ven.split(' ')).to.include('write_reports');
        expect(SCOPES[version].bl.split(' ')).to.include('read_all').and.not.include('write_reports');
      });
    });
  }
});
