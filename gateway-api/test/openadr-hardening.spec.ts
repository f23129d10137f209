import { expect } from 'chai';
import { derivedId } from '../src/openadr/object-ids';
import { PROGRAM_ID } from '../src/openadr/render';
import {
  basic,
  bearer,
  call,
  FORM,
  SLOT_NEW,
  startVtn,
  vtnPeople,
  type Vtn,
  type VtnPeople,
} from './support/openadr';

type Json = Record<string, unknown>;

const PRICE_EVENT = derivedId('price', SLOT_NEW, 'bus-1')!;

/** Refusals found by review: what a client can send never costs the gateway more than it should. */
describe('OpenADR VTN: hardening', () => {
  let people: VtnPeople;
  let vtn: Vtn;

  before(async () => {
    people = await vtnPeople();
  });
  beforeEach(async () => {
    vtn = await startVtn(people);
  });
  afterEach(() => vtn.app.close());

  it("answers a USAGE report before the dispatch with the chaincode's refusal, not a 500", async () => {
    vtn.allowedPowers.forecastBatchOf.rejects(
      new Error(
        'chaincode response 500, FAILED_PRECONDITION: slot slot:2030-01-01T10.15_b has no dispatch yet',
      ),
    );
    const response = await call(vtn.app, '3.0.1', 'POST', '/reports', bearer('3.0.1', people.a.clientId), {
      programID: PROGRAM_ID,
      eventID: PRICE_EVENT,
      clientName: 'ven-name-a',
      resources: [
        { resourceName: 'home', intervals: [{ id: 0, payloads: [{ type: 'USAGE', values: [1.5] }] }] },
      ],
    });
    expect(response.statusCode, response.body).to.equal(409);
    expect(response.json<Json>().detail).to.match(/^FAILED_PRECONDITION: .*no dispatch yet/);
    expect(response.body).not.to.include('1.5');
  });

  it('keeps of a report only its own members and its one usage payload', async () => {
    const padding = Array.from({ length: 50 }, (_, id) => ({
      id: id + 1,
      payloads: [{ type: 'x-PADDING', values: [id] }],
    }));
    const created = await call(vtn.app, '3.1.0', 'POST', '/reports', bearer('3.1.0', people.a.clientId), {
      eventID: PRICE_EVENT,
      clientName: 'ven-name-a',
      reportName: 'forecast',
      resources: [
        {
          resourceName: 'home',
          intervals: [{ id: 0, payloads: [{ type: 'USAGE_FORECAST', values: [1, 2] }] }, ...padding],
        },
        { resourceName: 'garage', intervals: padding },
      ],
    });
    expect(created.statusCode, created.body).to.equal(201);
    const report = created.json<Json>();
    expect(report.resources).to.deep.equal([
      {
        resourceName: 'home',
        intervals: [{ id: 0, payloads: [{ type: 'USAGE_FORECAST', values: [1, 2] }] }],
      },
    ]);
    const read = await call(
      vtn.app,
      '3.1.0',
      'GET',
      `/reports/${String(report.id)}`,
      bearer('3.1.0', people.a.clientId),
    );
    expect(read.json<Json>().resources).to.deep.equal(report.resources);
  });

  it("keeps of a subscription only the specification's members, each callback with a bearerToken member", async () => {
    const created = await call(
      vtn.app,
      '3.1.0',
      'POST',
      '/subscriptions',
      bearer('3.1.0', people.a.clientId),
      {
        clientName: 'ven-name-a',
        padding: 'x'.repeat(10_000),
        objectOperations: [
          {
            objects: ['EVENT'],
            operations: ['POST'],
            callbackUrl: 'https://ven-a.example/cb',
            note: 'y'.repeat(1000),
          },
        ],
      },
    );
    expect(created.statusCode, created.body).to.equal(201);
    const subscription = created.json<Json>();
    expect(subscription).not.to.have.property('padding');
    expect(subscription.objectOperations).to.deep.equal([
      {
        objects: ['EVENT'],
        operations: ['POST'],
        callbackUrl: 'https://ven-a.example/cb',
        bearerToken: null,
      },
    ]);
  });

  it('checks at most a few client secrets at once, answering the rest 429 with Retry-After', async () => {
    const requests = Array.from({ length: 12 }, () =>
      call(
        vtn.app,
        '3.1.0',
        'POST',
        '/auth/token',
        { ...FORM, authorization: basic('unknown-client-id-0000', 'wrong') },
        'grant_type=client_credentials',
      ),
    );
    const answers = await Promise.all(requests);
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 429).length).to.be.greaterThan(0);
    expect(statuses.every((status) => status === 401 || status === 429)).to.equal(true);
    const busy = answers.find((answer) => answer.statusCode === 429);
    expect(busy?.headers['retry-after']).to.equal('1');
    expect(busy?.json<Json>()).to.include({ error: 'slow_down' });
  });

  it('refuses callbacks to private addresses and more than ten callbacks, and posts each URL once per event', async () => {
    const subscribe = (operations: Json[]) =>
      call(vtn.app, '3.1.0', 'POST', '/subscriptions', bearer('3.1.0', people.a.clientId), {
        clientName: 'ven-name-a',
        objectOperations: operations,
      });
    const operation = (callbackUrl: string): Json => ({
      objects: ['EVENT'],
      operations: ['POST'],
      callbackUrl,
      bearerToken: 'cb',
    });
    for (const url of [
      'https://10.0.0.8/cb',
      'https://127.0.0.1/cb',
      'https://localhost/cb',
      'https://[fd00::1]/cb',
    ]) {
      expect((await subscribe([operation(url)])).statusCode, url).to.equal(400);
    }
    const many = Array.from({ length: 11 }, () => operation('https://ven-a.example/cb'));
    expect((await subscribe(many)).statusCode).to.equal(400);
    expect((await subscribe(many.slice(0, 10))).statusCode).to.equal(201);
    vtn.slots.listener?.opened(SLOT_NEW);
    for (let attempt = 0; attempt < 50 && !vtn.fetch.called; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(vtn.fetch.callCount).to.equal(1);
    expect((vtn.fetch.firstCall.args[1] as RequestInit).redirect).to.equal('error');
  });
});
