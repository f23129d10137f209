import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { HttpError } from '../src/http/errors';
import { AccessTokens } from '../src/openadr/auth/access-tokens';
import { derivedId } from '../src/openadr/object-ids';
import { PROGRAM_ID } from '../src/openadr/render';
import type { OpenAdrVersion } from '../src/openadr/versions';
import {
  bearer,
  blBearer,
  call,
  ORG,
  SLOT_NEW,
  SLOT_OLD,
  startVtn,
  TOKEN_KEY,
  VERSIONS,
  vtnPeople,
  type Vtn,
  type VtnPeople,
  expectProblem,
} from './support/openadr';

type Json = Record<string, unknown>;

const PRICE_EVENT = derivedId('price', SLOT_NEW, 'bus-1')!;

/** A report of one resource and one interval with `payloads`. */
function reportOf(version: OpenAdrVersion, eventID: string, payloads: Json[], extra: Json = {}): Json {
  return {
    ...(version === '3.0.1' ? { programID: PROGRAM_ID } : {}),
    eventID,
    clientName: 'ven-name-a',
    resources: [{ resourceName: 'home', intervals: [{ id: 0, payloads }] }],
    ...extra,
  };
}

const forecast = (values: unknown[]): Json[] => [{ type: 'USAGE_FORECAST', values }];

describe('OpenADR VTN: reports', () => {
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
      const post = (
        body: Json,
        headers = bearer(version, people.a.clientId),
      ): Promise<LightMyRequestResponse> => call(vtn.app, version, 'POST', '/reports', headers, body);
      const descriptor =
        version === '3.1.0'
          ? { objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: 'USAGE_FORECAST', units: 'KW' }
          : { payloadType: 'USAGE_FORECAST', units: 'KW' };

      it("turns a USAGE_FORECAST into the home's relay-attested forecast for the event's slot", async () => {
        const response = await post(
          reportOf(version, PRICE_EVENT, forecast([1.5, 3.25]), { payloadDescriptors: [descriptor] }),
        );
        expect(response.statusCode, response.body).to.equal(201);
        expect(vtn.forecasts.submit.calledOnce).to.equal(true);
        const [slotId, item] = vtn.forecasts.submit.firstCall.args as [string, Json];
        expect(slotId).to.equal(SLOT_NEW);
        expect(item).to.have.property('signature', undefined);
        expect(item).to.include({
          homeId: people.a.homeId,
          certificatePem: people.a.record.certificate,
          bus: 'bus-1',
        });
        const payload = JSON.parse(item.payload as string) as Json;
        expect(payload).to.include({ slotId: SLOT_NEW, lower: 1.5, upper: 3.25 });
        expect(Buffer.from(payload.nonce as string, 'base64')).to.have.length(16);

        const body = response.json<Json>();
        expect(body.id).to.match(/^report-[A-Za-z0-9_-]+$/);
        expect(body).to.include({ objectType: 'REPORT', eventID: PRICE_EVENT });
        expect(Date.parse(body.createdDateTime as string)).to.be.closeTo(Date.now(), 60_000);
        expect(body).to.not.have.property('payloadDescriptors');
        if (version === '3.1.0') {
          expect(body).to.include({ clientID: people.a.clientId });
          expect(body).to.not.have.property('programID');
        } else {
          expect(body).to.include({ programID: PROGRAM_ID });
          expect(body).to.not.have.property('clientID');
        }

        // A second report is a new item with a fresh nonce; one value stands for both bounds.
        expect((await post(reportOf(version, PRICE_EVENT, forecast([2])))).statusCode).to.equal(201);
        const second = JSON.parse(
          (vtn.forecasts.submit.secondCall.args[1] as Json).payload as string,
        ) as Json;
        expect(second).to.include({ lower: 2, upper: 2 });
        expect(second.nonce).to.not.equal(payload.nonce);

        // The VEN reads back its own reports; another VEN does not.
        const own = await call(
          vtn.app,
          version,
          'GET',
          `/reports/${String(body.id)}`,
          bearer(version, people.a.clientId),
        );
        expect(own.json()).to.deep.equal(body);
        const list = await call(vtn.app, version, 'GET', '/reports', bearer(version, people.a.clientId));
        expect(list.json<Json[]>().map((report) => report.id)).to.include(body.id);
        const other = bearer(version, people.b.clientId);
        expectProblem(await call(vtn.app, version, 'GET', `/reports/${String(body.id)}`, other), 404);
        expect((await call(vtn.app, version, 'GET', '/reports', other)).json()).to.deep.equal([]);
      });

      it('turns a USAGE into the consumption report, with the batch of the forecast in effect', async () => {
        const dispatch = derivedId('dispatch', SLOT_NEW, people.a.venId)!;
        const response = await post(reportOf(version, dispatch, [{ type: 'USAGE', values: [2.5] }]));
        expect(response.statusCode, response.body).to.equal(201);
        expect(
          vtn.allowedPowers.forecastBatchOf.calledOnceWith(SLOT_NEW, {
            homeId: people.a.homeId,
            certificatePem: people.a.record.certificate,
          }),
        ).to.equal(true);
        const [slotId, item] = vtn.consumption.submit.firstCall.args as [string, Json];
        expect(slotId).to.equal(SLOT_NEW);
        expect(item).to.have.property('signature', undefined);
        expect(item).to.include({ homeId: people.a.homeId, forecastBatch: 'batch-tx-1' });
        expect(JSON.parse(item.payload as string)).to.include({ slotId: SLOT_NEW, drawnKw: 2.5 });
        expect(vtn.forecasts.submit.called).to.equal(false);
      });

      it('takes explicit nulls as absent members', async () => {
        const body = reportOf(version, PRICE_EVENT, forecast([1, 2]), {
          payloadDescriptors: null,
          reportName: null,
        });
        (body.resources as Json[])[0]!.intervalPeriod = null;
        const response = await post(body);
        expect(response.statusCode, response.body).to.equal(201);
        expect(response.json()).to.not.have.any.keys('payloadDescriptors', 'reportName');
        expect(JSON.stringify(response.json())).to.not.include('null');
      });

      it('refuses a report without exactly one usage payload of sound values: 400', async () => {
        const refused: Json[][] = [
          [{ type: 'PRICE', values: [1] }],
          [...forecast([1, 2]), ...forecast([1, 2])],
          [...forecast([1, 2]), { type: 'USAGE', values: [1] }],
          forecast([3, 2]),
          forecast([-1, 2]),
          forecast([1, 2, 3]),
          forecast([]),
          forecast(['1', 2]),
          [{ type: 'USAGE', values: [1, 2] }],
        ];
        for (const payloads of refused) {
          expectProblem(await post(reportOf(version, PRICE_EVENT, payloads)), 400);
        }
        const twoResources = reportOf(version, PRICE_EVENT, forecast([1, 2]));
        twoResources.resources = [
          ...(twoResources.resources as Json[]),
          ...(twoResources.resources as Json[]),
        ];
        expectProblem(await post(twoResources), 400);
        expectProblem(await post({ eventID: PRICE_EVENT }), 400);
        expect(vtn.forecasts.submit.called).to.equal(false);
      });

      it('refuses a report on an event of another bus or another VEN, or on none: 404', async () => {
        for (const eventID of [
          derivedId('price', SLOT_NEW, 'bus-2')!,
          derivedId('dispatch', SLOT_NEW, people.b.venId)!,
          derivedId('price', 'no-such-slot', 'bus-1')!,
          derivedId('aggregate', SLOT_OLD, 'bus-1')!,
          'event-1',
        ]) {
          expectProblem(await post(reportOf(version, eventID, forecast([1, 2]))), 404);
        }
        expect(vtn.forecasts.submit.called).to.equal(false);
      });

      it('refuses reports of business logic, and changes to reports: 403', async () => {
        expectProblem(
          await post(reportOf(version, PRICE_EVENT, forecast([1, 2])), blBearer(version, vtn)),
          403,
        );
        const headers = bearer(version, people.a.clientId);
        expectProblem(
          await call(
            vtn.app,
            version,
            'PUT',
            '/reports/report-1',
            headers,
            reportOf(version, PRICE_EVENT, []),
          ),
          403,
        );
        expectProblem(await call(vtn.app, version, 'DELETE', '/reports/report-1', headers), 403);
        expect(vtn.forecasts.submit.called).to.equal(false);
      });

      it('refuses writes a narrower token does not allow: 403', async () => {
        const { token } = new AccessTokens(TOKEN_KEY).issue({
          sub: people.a.clientId,
          role: 'ven',
          scope: 'write_vens',
        });
        const headers = { authorization: `Bearer ${token}` };
        const refused = expectProblem(
          await post(reportOf(version, PRICE_EVENT, forecast([1, 2])), headers),
          403,
        );
        expect(refused.detail).to.match(/write_reports/);
        expect((await call(vtn.app, version, 'GET', '/events', headers)).statusCode).to.equal(200);
        expect(vtn.forecasts.submit.called).to.equal(false);
      });

      it("answers the ledger's refusal of the item as a problem carrying its code", async () => {
        vtn.forecasts.submit.rejects(
          new HttpError(403, 'FORBIDDEN', 'the home has no enrolment for this slot'),
        );
        const problem = expectProblem(await post(reportOf(version, PRICE_EVENT, forecast([1, 2]))), 403);
        expect(problem.detail).to.equal('FORBIDDEN: the home has no enrolment for this slot');
        vtn.consumption.submit.rejects(new HttpError(409, 'CONFLICT', 'the home reported already'));
        const usage = reportOf(version, PRICE_EVENT, [{ type: 'USAGE', values: [1] }]);
        expect(expectProblem(await post(usage), 409).detail).to.match(/^CONFLICT: /);
      });

      it('answers a failure of the relay as a 500 problem without its message', async () => {
        vtn.forecasts.submit.rejects(new Error('peer0 at 10.0.0.7 is down'));
        const problem = expectProblem(await post(reportOf(version, PRICE_EVENT, forecast([1, 2]))), 500);
        expect(problem.detail).to.not.include('10.0.0.7');
      });

      it("gives business logic the utility's published per-bus aggregates", async () => {
        const view = vtn.slots.views.get(SLOT_NEW);
        view?.aggregates.push(
          {
            org: ORG,
            bus: 'bus-1',
            expectedHomes: 2,
            published: true,
            homes: 5,
            lower: 10,
            upper: 20,
            relayAttested: 2,
          },
          { org: ORG, bus: 'bus-2', expectedHomes: 1, published: true, homes: 1, withheld: true },
        );
        const response = await call(vtn.app, version, 'GET', '/reports', blBearer(version, vtn));
        expect(response.statusCode, response.body).to.equal(200);
        const [full, withheld, ...more] = response.json<Json[]>();
        expect(more).to.deep.equal([]);
        expect(full).to.include({
          id: derivedId('aggregate', SLOT_NEW, 'bus-1'),
          reportName: 'AGGREGATED_REPORT',
        });
        expect(JSON.stringify(full)).to.include('"values":[10,20]');
        expect(JSON.stringify(withheld)).to.not.include('USAGE_FORECAST');
        const id = String(full?.id);
        expect(
          (await call(vtn.app, version, 'GET', `/reports/${id}`, blBearer(version, vtn))).json(),
        ).to.deep.equal(full);
        expectProblem(
          await call(vtn.app, version, 'GET', `/reports/${id}`, bearer(version, people.a.clientId)),
          404,
        );
      });
    });
  }
});
