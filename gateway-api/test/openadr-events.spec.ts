import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { AccessTokens } from '../src/openadr/auth/access-tokens';
import { derivedId } from '../src/openadr/object-ids';
import { PROGRAM_ID } from '../src/openadr/render';
import { SCOPES } from '../src/openadr/versions';
import {
  bearer,
  blBearer,
  call,
  serialOf,
  SLOT_NEW,
  SLOT_OLD,
  startVtn,
  TOKEN_KEY,
  VERSIONS,
  vtnPeople,
  type Vtn,
  type VtnPeople,
  expectProblem as expectProblemOf,
} from './support/openadr';

type Json = Record<string, unknown>;

function expectProblem(response: LightMyRequestResponse, status: number): Json {
  const body = expectProblemOf(response, status);
  expect(body.title).to.be.a('string');
  expect(body.detail).to.be.a('string');
  return body;
}

const priceId = (slotId: string, bus: string): string => derivedId('price', slotId, bus)!;

describe('OpenADR VTN: bearer tokens, programs and events', () => {
  let people: VtnPeople;
  let vtn: Vtn;

  before(async () => {
    people = await vtnPeople();
  });
  beforeEach(async () => {
    vtn = await startVtn(people);
  });
  afterEach(() => vtn.app.close());

  describe('bearer check', () => {
    const expectUnauthorized = (response: LightMyRequestResponse): void => {
      expectProblem(response, 401);
      expect(response.headers['www-authenticate']).to.match(/^Bearer /);
    };

    for (const version of VERSIONS) {
      it(`refuses a missing, forged or expired token (${version})`, async () => {
        expectUnauthorized(await call(vtn.app, version, 'GET', '/programs', {}));
        expectUnauthorized(await call(vtn.app, version, 'GET', '/events', { authorization: 'Basic abc' }));
        const forged = new AccessTokens(Buffer.alloc(32, 9)).issue({
          sub: people.a.clientId,
          role: 'ven',
          scope: SCOPES[version].ven,
        });
        expectUnauthorized(
          await call(vtn.app, version, 'GET', '/events', { authorization: `Bearer ${forged.token}` }),
        );
        const expired = new AccessTokens(TOKEN_KEY, 60, () => Date.now() - 61_000).issue({
          sub: people.a.clientId,
          role: 'ven',
          scope: SCOPES[version].ven,
        });
        expectUnauthorized(
          await call(vtn.app, version, 'GET', '/events', { authorization: `Bearer ${expired.token}` }),
        );
      });
    }

    it('stops honouring the token of a VEN revoked after it was issued', async () => {
      const headers = bearer('3.1.0', people.a.clientId);
      expect((await call(vtn.app, '3.1.0', 'GET', '/programs', headers)).statusCode).to.equal(200);
      await vtn.registry.revoke(people.a.clientId);
      expectUnauthorized(await call(vtn.app, '3.1.0', 'GET', '/programs', headers));
    });

    it('stops honouring the token of a VEN whose home certificate was revoked', async () => {
      const headers = bearer('3.0.1', people.a.clientId);
      vtn.revoked.add(serialOf(people.a.certificate));
      expectUnauthorized(await call(vtn.app, '3.0.1', 'GET', '/programs', headers));
    });
  });

  for (const version of VERSIONS) {
    describe(`programs and events (${version})`, () => {
      const dispatchTarget = (name: string): unknown =>
        version === '3.1.0' ? name : { type: 'VEN_NAME', values: [name] };
      const groupTarget = (bus: string): unknown =>
        version === '3.1.0' ? bus : { type: 'GROUP', values: [bus] };

      it("lists the utility's one program", async () => {
        const response = await call(vtn.app, version, 'GET', '/programs', bearer(version, people.a.clientId));
        expect(response.statusCode).to.equal(200);
        const [program, ...more] = response.json<Json[]>();
        expect(more).to.deep.equal([]);
        expect(program).to.include({ id: PROGRAM_ID, objectType: 'PROGRAM' });
        const single = await call(
          vtn.app,
          version,
          'GET',
          `/programs/${PROGRAM_ID}`,
          bearer(version, people.a.clientId),
        );
        expect(single.json()).to.deep.equal(program);
        expectProblem(
          await call(vtn.app, version, 'GET', '/programs/other', bearer(version, people.a.clientId)),
          404,
        );
      });

      it("gives a VEN its bus's price events and its own dispatch, newest slot first", async () => {
        const response = await call(vtn.app, version, 'GET', '/events', bearer(version, people.a.clientId));
        expect(response.statusCode, response.body).to.equal(200);
        const events = response.json<Json[]>();
        expect(events.map((event) => event.id)).to.deep.equal([
          derivedId('dispatch', SLOT_NEW, people.a.venId),
          priceId(SLOT_NEW, 'bus-1'),
          priceId(SLOT_OLD, 'bus-1'),
        ]);
        const [dispatch, price] = events as [Json, Json];
        expect(price).to.include({ objectType: 'EVENT', programID: PROGRAM_ID });
        expect(price.targets).to.deep.equal([groupTarget('bus-1')]);
        expect(price.intervals).to.deep.equal([{ id: 0, payloads: [{ type: 'PRICE', values: [40, 60] }] }]);
        expect(dispatch.targets).to.deep.equal([dispatchTarget(people.a.venName)]);
        expect(dispatch.intervals).to.deep.equal([
          {
            id: 0,
            payloads: [
              { type: 'IMPORT_CAPACITY_LIMIT', values: [3.5] },
              { type: 'x-HEMS-DISPATCH-FACTOR', values: [0.5] },
            ],
          },
        ]);
        const descriptors = price.payloadDescriptors as Json[];
        expect(descriptors[0]).to.include({ payloadType: 'PRICE', units: 'MWH' });
        if (version === '3.1.0') {
          expect(descriptors[0]).to.include({ objectType: 'EVENT_PAYLOAD_DESCRIPTOR' });
        } else {
          expect(descriptors[0]).to.not.have.property('objectType');
        }
      });

      it("reads one event by id, and never another VEN's dispatch", async () => {
        const headers = bearer(version, people.a.clientId);
        const own = derivedId('dispatch', SLOT_NEW, people.a.venId)!;
        const response = await call(vtn.app, version, 'GET', `/events/${own}`, headers);
        expect(response.statusCode).to.equal(200);
        expect(response.json()).to.include({ id: own });
        const price = await call(vtn.app, version, 'GET', `/events/${priceId(SLOT_OLD, 'bus-1')}`, headers);
        expect(price.json<Json>().intervals).to.deep.equal([
          { id: 0, payloads: [{ type: 'PRICE', values: [40, 60] }] },
        ]);
        const other = derivedId('dispatch', SLOT_NEW, people.b.venId)!;
        expectProblem(await call(vtn.app, version, 'GET', `/events/${other}`, headers), 404);
        // B reads its own, with its own allowed power.
        const mine = await call(
          vtn.app,
          version,
          'GET',
          `/events/${other}`,
          bearer(version, people.b.clientId),
        );
        expect(mine.statusCode).to.equal(200);
        expect(JSON.stringify(mine.json())).to.include('4.5');
        // Another bus's price, an unknown slot and a foreign id are not found either.
        for (const id of [priceId(SLOT_NEW, 'bus-2'), priceId('no-such-slot', 'bus-1'), 'event-1']) {
          expectProblem(await call(vtn.app, version, 'GET', `/events/${id}`, headers), 404);
        }
      });

      it("shows business logic every bus's price event of the utility and no dispatch", async () => {
        const response = await call(vtn.app, version, 'GET', '/events', blBearer(version, vtn));
        expect(response.statusCode, response.body).to.equal(200);
        expect(response.json<Json[]>().map((event) => event.id)).to.deep.equal([
          priceId(SLOT_NEW, 'bus-1'),
          priceId(SLOT_NEW, 'bus-2'),
          priceId(SLOT_OLD, 'bus-1'),
          priceId(SLOT_OLD, 'bus-2'),
        ]);
        const dispatch = derivedId('dispatch', SLOT_NEW, people.a.venId)!;
        expectProblem(
          await call(vtn.app, version, 'GET', `/events/${dispatch}`, blBearer(version, vtn)),
          404,
        );
        const price = await call(
          vtn.app,
          version,
          'GET',
          `/events/${priceId(SLOT_NEW, 'bus-2')}`,
          blBearer(version, vtn),
        );
        expect(price.json<Json>().intervals).to.deep.equal([
          { id: 0, payloads: [{ type: 'PRICE', values: [45, 75] }] },
        ]);
      });

      it('pages with skip and limit, and filters by programID', async () => {
        const headers = bearer(version, people.a.clientId);
        const page = await call(vtn.app, version, 'GET', '/events?skip=1&limit=1', headers);
        expect(page.json<Json[]>().map((event) => event.id)).to.deep.equal([priceId(SLOT_NEW, 'bus-1')]);
        const rest = await call(vtn.app, version, 'GET', '/events?skip=2&limit=50', headers);
        expect(rest.json<Json[]>().map((event) => event.id)).to.deep.equal([priceId(SLOT_OLD, 'bus-1')]);
        expect((await call(vtn.app, version, 'GET', '/events?limit=0', headers)).json()).to.deep.equal([]);
        const other = await call(vtn.app, version, 'GET', '/events?programID=other-program', headers);
        expect(other.json()).to.deep.equal([]);
        const ours = await call(vtn.app, version, 'GET', `/events?programID=${PROGRAM_ID}`, headers);
        expect(ours.json()).to.have.length(3);
        const programs = await call(vtn.app, version, 'GET', '/programs?skip=1', headers);
        expect(programs.json()).to.deep.equal([]);
      });

      it('refuses an invalid limit or skip, or an unknown filter, with a problem', async () => {
        const headers = bearer(version, people.a.clientId);
        for (const query of ['limit=51', 'limit=-1', 'limit=abc', 'skip=1.5', 'color=red']) {
          const problem = expectProblem(
            await call(vtn.app, version, 'GET', `/events?${query}`, headers),
            400,
          );
          expect(problem.detail).to.match(/^querystring/);
        }
      });

      it('refuses to write programs and events: 403 problems', async () => {
        const headers = bearer(version, people.a.clientId);
        const body = { programName: 'mine', programID: PROGRAM_ID, intervals: [] };
        const writes: [string, string][] = [
          ['POST', '/programs'],
          ['PUT', `/programs/${PROGRAM_ID}`],
          ['DELETE', `/programs/${PROGRAM_ID}`],
          ['POST', '/events'],
          ['PUT', `/events/${priceId(SLOT_NEW, 'bus-1')}`],
          ['DELETE', `/events/${priceId(SLOT_NEW, 'bus-1')}`],
        ];
        for (const [method, path] of writes) {
          const payload = method === 'DELETE' ? undefined : body;
          expectProblem(await call(vtn.app, version, method, path, headers, payload), 403);
          expectProblem(await call(vtn.app, version, method, path, blBearer(version, vtn), payload), 403);
        }
      });
    });
  }

  it('answers 404 problems for unknown VTN resources', async () => {
    const response = await call(vtn.app, '3.1.0', 'GET', '/nothing', bearer('3.1.0', people.a.clientId));
    expectProblem(response, 404);
  });
});
