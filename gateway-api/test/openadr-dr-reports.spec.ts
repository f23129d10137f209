import { expect } from 'chai';
import Fastify from 'fastify';
import { LedgerDrResults, MAX_DR_RESULTS } from '../src/openadr/dr-results';
import { derivedId, parseDerivedId } from '../src/openadr/object-ids';
import { PROGRAM_ID } from '../src/openadr/render';
import * as schemas from '../src/openadr/schemas';
import type { OpenAdrVersion } from '../src/openadr/versions';
import type { TransactionOptions } from '../src/ledger/ports';
import { expectNoneOf } from './support/expectations';
import { FakeLedger, refusal } from './support/fake-ledger';
import {
  bearer,
  blBearer,
  call,
  expectProblem,
  ORG,
  startVtn,
  VERSIONS,
  vtnPeople,
  type Vtn,
  type VtnPeople,
} from './support/openadr';

type Json = Record<string, unknown>;

/** An event id with every character the object ids escape. */
const EVENT_ID = 'dr:2030-01-07.peak_1';
const EVENTS = [
  { eventId: 'dr-old', date: '2029-12-20', start: 70, end: 72, declaredAt: '2029-12-19T12:00:00.000Z' },
  { eventId: EVENT_ID, date: '2030-01-07', start: 68, end: 71, declaredAt: '2030-01-06T12:00:00.000Z' },
  { eventId: 'dr-none', date: '2030-01-05', start: 60, end: 64, declaredAt: '2030-01-04T12:00:00.000Z' },
  { eventId: 'dr-broken', start: 1 },
];

/** VEN a's home's result of EVENT_ID: three intervals, the last above the baseline. */
const RESULT = {
  eventId: EVENT_ID,
  method: 'residential-5-in-10',
  rate: 0.5,
  baselineWh: [9137, 9241, 9353],
  meteredWh: [4711, 4723, 9999],
  baselineTotalWh: 27731,
  meteredTotalWh: 19433,
  reductionWh: 8298,
  reward: '41490000000',
  paid: true,
};
const OLD_RESULT = {
  ...RESULT,
  eventId: 'dr-old',
  baselineWh: [5003, 5011],
  meteredWh: [5003, 4001],
  paid: false,
};
/** Private values (Wh and their kW) that reach only VEN a. */
const PRIVATE = ['9137', '4711', '9999', '36.548', '18.844', '17.704', '-2.584', '5011', '4001'];

const REPORT_ID = derivedId('reward', EVENT_ID, 'ven-a')!;
const DR_EVENT = derivedId('dr', EVENT_ID, ORG)!;

/** The report VEN a reads of RESULT, in `version`'s shape. */
function expectedReport(version: OpenAdrVersion, people: VtnPeople): Json {
  const interval = (id: number, start: string, values: [number, number, number]): Json => ({
    id,
    intervalPeriod: { start, duration: 'PT15M' },
    payloads: [
      { type: 'BASELINE', values: [values[0]] },
      { type: 'USAGE', values: [values[1]] },
      { type: 'DELTA_USAGE', values: [values[2]] },
    ],
  });
  const descriptor = (payloadType: string): Json => ({
    ...(version === '3.1.0' ? { objectType: 'REPORT_PAYLOAD_DESCRIPTOR' } : {}),
    payloadType,
    units: 'KW',
  });
  return {
    id: REPORT_ID,
    createdDateTime: '2030-01-06T12:00:00.000Z',
    modificationDateTime: '2030-01-06T12:00:00.000Z',
    objectType: 'REPORT',
    ...(version === '3.0.1' ? { programID: PROGRAM_ID } : { clientID: people.a.clientId }),
    eventID: DR_EVENT,
    clientName: people.a.venName,
    reportName: `demand-response event ${EVENT_ID}`,
    payloadDescriptors: [descriptor('BASELINE'), descriptor('USAGE'), descriptor('DELTA_USAGE')],
    resources: [
      {
        resourceName: 'home',
        intervalPeriod: { start: '2030-01-07T17:00:00.000Z', duration: 'PT15M' },
        intervals: [
          // kW = Wh × 4 / 1000: 9137 Wh in 15 minutes is 36.548 kW on average.
          interval(0, '2030-01-07T17:00:00.000Z', [36.548, 18.844, 17.704]),
          interval(1, '2030-01-07T17:15:00.000Z', [36.964, 18.892, 18.072]),
          interval(2, '2030-01-07T17:30:00.000Z', [37.412, 39.996, -2.584]),
        ],
      },
    ],
  };
}

/** Whether `report` is valid against the version's report schema (Fastify's Ajv, with formats). */
async function isValidReport(version: OpenAdrVersion, report: Json): Promise<boolean> {
  const app = Fastify({ logger: false });
  app.post(
    '/',
    { schema: { body: version === '3.1.0' ? schemas.v310.report : schemas.v301.report } },
    () => ({}),
  );
  const response = await app.inject({ method: 'POST', url: '/', payload: report });
  await app.close();
  return response.statusCode === 200;
}

describe("OpenADR VTN: a VEN's demand-response results as reports", () => {
  let people: VtnPeople;
  let ledger: FakeLedger;
  let vtn: Vtn;

  /** GetMyReward as the chaincode answers it: VEN a's home has results, VEN b's none. */
  const myReward = (options: TransactionOptions): unknown => {
    const certificate = Buffer.from(options.transientData?.certificate ?? []).toString('utf8');
    const eventId = options.arguments?.[0];
    if (certificate === people.a.record.certificate && eventId === EVENT_ID) {
      return RESULT;
    }
    if (certificate === people.a.record.certificate && eventId === 'dr-old') {
      return OLD_RESULT;
    }
    throw refusal('NOT_FOUND', `the home has no result for event ${String(eventId)}`);
  };

  before(async () => {
    people = await vtnPeople();
  });
  beforeEach(async () => {
    ledger = new FakeLedger(ORG, ['relay', 'meter', 'admin'])
      .on('ListEvents', { events: EVENTS, fetched: EVENTS.length, bookmark: '' })
      .on('GetMyReward', myReward)
      .on('GetEvent', (options: TransactionOptions) => {
        const found = EVENTS.find((event) => event.eventId === options.arguments?.[0]);
        if (found === undefined) {
          throw refusal('NOT_FOUND', 'no such event');
        }
        return { event: found, allotments: [] };
      });
    vtn = await startVtn(people, { drResults: new LedgerDrResults(ledger) });
  });
  afterEach(() => vtn.app.close());

  for (const version of VERSIONS) {
    describe(version, () => {
      const asA = (): Record<string, string> => bearer(version, people.a.clientId);

      it("lists the home's results, newest event first, as reports of BASELINE, USAGE and DELTA_USAGE in kW", async () => {
        const response = await call(vtn.app, version, 'GET', '/reports', asA());
        expect(response.statusCode, response.body).to.equal(200);
        const reports = response.json<Json[]>();
        expect(reports.map((report) => report.id)).to.deep.equal([
          REPORT_ID,
          derivedId('reward', 'dr-old', 'ven-a'),
        ]);
        expect(reports[0]).to.deep.equal(expectedReport(version, people));
        expect(await isValidReport(version, reports[0]!)).to.equal(true);
        expect(await isValidReport(version, { ...reports[0], objectType: 'EVENT' })).to.equal(false);
        const old = reports[1] as { resources: { intervals: { payloads: Json[] }[] }[] };
        expect(old.resources[0]?.intervals[1]?.payloads).to.deep.equal([
          { type: 'BASELINE', values: [20.044] },
          { type: 'USAGE', values: [16.004] },
          { type: 'DELTA_USAGE', values: [4.04] },
        ]);
      });

      it("reads one result by its id, for that VEN only; it filters by the event's id", async () => {
        const own = await call(vtn.app, version, 'GET', `/reports/${REPORT_ID}`, asA());
        expect(own.statusCode, own.body).to.equal(200);
        expect(own.json()).to.deep.equal(expectedReport(version, people));
        const filtered = await call(vtn.app, version, 'GET', `/reports?eventID=${DR_EVENT}`, asA());
        expect(filtered.json<Json[]>().map((report) => report.id)).to.deep.equal([REPORT_ID]);
        const other = bearer(version, people.b.clientId);
        expectProblem(await call(vtn.app, version, 'GET', `/reports/${REPORT_ID}`, other), 404);
        expect((await call(vtn.app, version, 'GET', '/reports', other)).json()).to.deep.equal([]);
        expectProblem(
          await call(vtn.app, version, 'GET', `/reports/${REPORT_ID}`, blBearer(version, vtn)),
          404,
        );
        const bl = (await call(vtn.app, version, 'GET', '/reports', blBearer(version, vtn))).json<Json[]>();
        expect(bl.filter((report) => String(report.id).startsWith('reward-'))).to.deep.equal([]);
        expectProblem(
          await call(vtn.app, version, 'GET', `/reports/${derivedId('reward', 'dr-none', 'ven-a')!}`, asA()),
          404,
        );
        expectProblem(
          await call(
            vtn.app,
            version,
            'GET',
            `/reports/${derivedId('reward', 'dr-missing', 'ven-a')!}`,
            asA(),
          ),
          404,
        );
      });
    });
  }

  it("evaluates each result on the utility's own peer as the relay, with only the VEN home's certificate", async () => {
    await call(vtn.app, '3.1.0', 'GET', '/reports', bearer('3.1.0', people.a.clientId));
    await call(vtn.app, '3.1.0', 'GET', '/reports', bearer('3.1.0', people.b.clientId));
    const [list] = ledger.callsOf('ListEvents');
    expect(list).to.deep.include({ identity: 'relay', contract: 'dr', kind: 'evaluate' });
    const calls = ledger.callsOf('GetMyReward');
    // The three well-formed events, newest first, per VEN; the one without a date is left out.
    expect(calls.map((entry) => entry.options.arguments)).to.deep.equal([
      [EVENT_ID],
      ['dr-none'],
      ['dr-old'],
      [EVENT_ID],
      ['dr-none'],
      ['dr-old'],
    ]);
    for (const entry of calls) {
      expect(entry).to.deep.include({ identity: 'relay', contract: 'dr', kind: 'evaluate' });
      expect(entry.options.endorsingOrganizations).to.deep.equal([ORG]);
      expect(Object.keys(entry.options.transientData ?? {})).to.deep.equal(['certificate']);
      expectNoneOf(JSON.stringify(entry.options.arguments), [people.a.homeId, people.b.homeId]);
    }
    const certificates = calls.map((entry) =>
      Buffer.from(entry.options.transientData?.certificate ?? []).toString('utf8'),
    );
    expect(certificates.slice(0, 3)).to.deep.equal(Array(3).fill(people.a.record.certificate));
    expect(certificates.slice(3)).to.deep.equal(Array(3).fill(people.b.record.certificate));
  });

  it('keeps a paid result, asks again for an unpaid one, and reads no more than the page needs', async () => {
    const asA = bearer('3.1.0', people.a.clientId);
    await call(vtn.app, '3.1.0', 'GET', '/reports', asA);
    const before = ledger.callsOf('GetMyReward').length;
    await call(vtn.app, '3.1.0', 'GET', '/reports', asA);
    const again = ledger
      .callsOf('GetMyReward')
      .slice(before)
      .map((entry) => entry.options.arguments?.[0]);
    expect(again).to.deep.equal(['dr-none', 'dr-old']);
    const single = await call(vtn.app, '3.1.0', 'GET', '/reports?limit=1', asA);
    expect(single.json<Json[]>().map((report) => report.id)).to.deep.equal([REPORT_ID]);
    expect(MAX_DR_RESULTS).to.be.at.most(50);
  });

  it('logs no baseline or metered value', async () => {
    for (const version of VERSIONS) {
      await call(vtn.app, version, 'GET', '/reports', bearer(version, people.a.clientId));
      await call(vtn.app, version, 'GET', `/reports/${REPORT_ID}`, bearer(version, people.a.clientId));
    }
    const logs = vtn.logs.join('');
    expect(logs).to.include('incoming request');
    expectNoneOf(logs, PRIVATE);
  });

  it('answers a failure of the ledger as a problem, not as an empty list', async () => {
    ledger.on('ListEvents', () => {
      throw new Error('14 UNAVAILABLE: connection refused');
    });
    const response = await call(vtn.app, '3.1.0', 'GET', '/reports', bearer('3.1.0', people.a.clientId));
    expect(response.statusCode).to.be.at.least(500);
    expect(response.json()).to.include({ type: 'about:blank' });
  });

  it('derives ids of the results and their events that parse back, escaped', () => {
    expect(REPORT_ID).to.equal('reward-dr_c2030_h01_h07_dpeak_u1-ven_ha');
    expect(parseDerivedId(REPORT_ID)).to.deep.equal({ kind: 'reward', slotId: EVENT_ID, subject: 'ven-a' });
    expect(parseDerivedId(DR_EVENT)).to.deep.equal({ kind: 'dr', slotId: EVENT_ID, subject: ORG });
  });

  it('reports nothing when the VTN has no demand-response source', async () => {
    const plain = await startVtn(people);
    try {
      const response = await call(plain.app, '3.1.0', 'GET', '/reports', bearer('3.1.0', people.a.clientId));
      expect(response.json()).to.deep.equal([]);
      expectProblem(
        await call(plain.app, '3.1.0', 'GET', `/reports/${REPORT_ID}`, bearer('3.1.0', people.a.clientId)),
        404,
      );
    } finally {
      await plain.app.close();
    }
  });
});
