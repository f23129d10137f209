import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { HttpError } from '../src/http/errors';
import { derivedId } from '../src/openadr/object-ids';
import { PROGRAM_ID } from '../src/openadr/render';
import { basePath, type OpenAdrVersion } from '../src/openadr/versions';
import {
  basic,
  bearer,
  call,
  FORM,
  SLOT_NEW,
  startVtn,
  VERSIONS,
  vtnPeople,
  type Vtn,
  type VtnPeople,
} from './support/openadr';

type Json = Record<string, unknown>;

/** Forecast values no other part of a request or answer contains. */
const LOWER = 7.3141;
const UPPER = 9.2718;
const PRIVATE = ['7.3141', '9.2718', '73141', '92718'];

const PRICE_EVENT = derivedId('price', SLOT_NEW, 'bus-1')!;

function reportOf(version: OpenAdrVersion, payloads: Json[], eventID = PRICE_EVENT): Json {
  return {
    ...(version === '3.0.1' ? { programID: PROGRAM_ID } : {}),
    eventID,
    clientName: 'ven-name-a',
    resources: [{ resourceName: 'home', intervals: [{ id: 0, payloads }] }],
  };
}

const forecast = (values: unknown[]): Json[] => [{ type: 'USAGE_FORECAST', values }];

function expectNoneOf(text: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) {
    expect(text, `${where} quotes ${secret}`).to.not.include(secret);
  }
}

describe('OpenADR VTN: privacy of reports and credentials', () => {
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
        body: unknown,
        headers = bearer(version, people.a.clientId),
      ): Promise<LightMyRequestResponse> => call(vtn.app, version, 'POST', '/reports', headers, body);

      it('logs no forecast value of an accepted report', async () => {
        const response = await post(reportOf(version, forecast([LOWER, UPPER])));
        expect(response.statusCode, response.body).to.equal(201);
        // The values did reach the relay: the test would catch them in the logs.
        expect(String((vtn.forecasts.submit.firstCall.args[1] as Json).payload)).to.include('7.3141');
        const logs = vtn.logs.join('');
        expect(logs).to.include('incoming request');
        expectNoneOf(logs, PRIVATE, 'the log');
      });

      it('quotes no forecast value in any refusal, nor logs one', async () => {
        const refusals: [unknown, number][] = [
          [reportOf(version, forecast([UPPER, LOWER])), 400],
          [reportOf(version, forecast([-LOWER, UPPER])), 400],
          [reportOf(version, forecast([LOWER, UPPER, 1])), 400],
          [reportOf(version, [...forecast([LOWER, UPPER]), ...forecast([LOWER, UPPER])]), 400],
          [reportOf(version, [{ type: 'USAGE', values: [LOWER, UPPER] }]), 400],
          [reportOf(version, [{ type: 'PRICE', values: [LOWER, UPPER] }]), 400],
          [reportOf(version, forecast([LOWER, { x: UPPER }])), 400],
          [reportOf(version, forecast([LOWER, 'x'.repeat(9000)])), 400],
          [{ ...reportOf(version, forecast([LOWER, UPPER])), clientName: 7.3141 }, 400],
          [reportOf(version, forecast([LOWER, UPPER]), derivedId('price', SLOT_NEW, 'bus-2')), 404],
          [reportOf(version, forecast([LOWER, UPPER]), 'event-7_3141'), 404],
        ];
        for (const [body, status] of refusals) {
          const response = await post(body);
          expect(response.statusCode, response.body).to.equal(status);
          expectNoneOf(response.body, PRIVATE, 'a problem');
        }
        const broken = await vtn.app.inject({
          method: 'POST',
          url: `${basePath(version)}/reports`,
          headers: { ...bearer(version, people.a.clientId), 'content-type': 'application/json' },
          payload: `{"eventID":"${PRICE_EVENT}","values":[7.3141, 9.2718,}`,
        });
        expect(broken.statusCode).to.equal(400);
        expectNoneOf(broken.body, PRIVATE, 'a problem');
        expectNoneOf(vtn.logs.join(''), PRIVATE, 'the log');
      });

      it("quotes no forecast value when the relay's batch refuses or fails", async () => {
        vtn.forecasts.submit
          .onFirstCall()
          .rejects(new HttpError(403, 'FORBIDDEN', 'the home is not enrolled'));
        vtn.forecasts.submit.onSecondCall().rejects(new Error('the batch failed'));
        const refused = await post(reportOf(version, forecast([LOWER, UPPER])));
        expect(refused.statusCode).to.equal(403);
        const failed = await post(reportOf(version, forecast([LOWER, UPPER])));
        expect(failed.statusCode).to.equal(500);
        expectNoneOf(refused.body + failed.body, PRIVATE, 'a problem');
        expectNoneOf(vtn.logs.join(''), PRIVATE, 'the log');
      });

      it('logs no client secret, Basic header or access token', async () => {
        const header = basic(people.a.clientId, people.a.secret);
        const url = `${basePath(version)}/auth/token`;
        const viaHeader = await vtn.app.inject({
          method: 'POST',
          url,
          headers: { ...FORM, authorization: header },
          payload: 'grant_type=client_credentials',
        });
        expect(viaHeader.statusCode).to.equal(200);
        const form = new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: people.a.clientId,
          client_secret: people.a.secret,
        });
        const viaForm = await vtn.app.inject({
          method: 'POST',
          url,
          headers: FORM,
          payload: form.toString(),
        });
        expect(viaForm.statusCode).to.equal(200);
        const wrong = await vtn.app.inject({
          method: 'POST',
          url,
          headers: FORM,
          payload: `${form.toString()}x&scope=read_everything`,
        });
        expect(wrong.statusCode).to.equal(401);
        expectNoneOf(wrong.body, [people.a.secret], 'an error');
        const repeated = await vtn.app.inject({
          method: 'POST',
          url,
          headers: FORM,
          payload: `${form.toString()}&client_secret=${people.a.secret}`,
        });
        expect(repeated.statusCode).to.equal(400);
        expectNoneOf(repeated.body, [people.a.secret], 'a problem');
        const token = viaHeader.json<{ access_token: string }>().access_token;
        const used = await call(vtn.app, version, 'GET', '/events', { authorization: `Bearer ${token}` });
        expect(used.statusCode).to.equal(200);
        const logs = vtn.logs.join('');
        expect(logs).to.include('/auth/token');
        expectNoneOf(logs, [people.a.secret, header.slice(6), token, token.split('.')[1]!], 'the log');
      });
    });
  }
});
