import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  evaluateJson,
  type FabricConnection,
  loadNetworkDescription,
  type NetworkDescription,
  submitJson,
} from '@hems/network-client';
import type { SlotView } from '@hems/protocol';
import { callGateway, GatewayProcesses, isVenClientError, type OpenAdrVersion } from '@hems/testkit';
import { Actors, PRICES, UTILITY_A, UTILITY_B, sumKw, uniqueSlotId } from './support/actors';
import { decodeBatchTransaction, doubles, filesUnder } from './support/batch-privacy';
import {
  batchesOf,
  eventually,
  postForecast,
  rangeFor,
  sampleDevice,
  signFor,
  expectAccepted,
  type Submission,
} from './support/batched-devices';
import { fetchBlocks, type FetchedBlock } from './support/blocks';
import { encodings } from './support/encodings';
import { adminOf, DSO_OPERATOR, sleep, useE2eGatewayPorts } from './support/gateways';
import { E2E_STATE_DIR } from './support/network';
import {
  claimsOf,
  derivedId,
  dsoRequest,
  mintToken,
  type OadrEvent,
  ok,
  payloadValues,
  problemOf,
  refused,
  type Ven,
  venOp,
  Webhook,
  enrolHomes,
} from './support/openadr';

/*
 * The OpenADR 3 VTN of UtilityA's gateway (gateway-api/src/openadr), driven through ElaadNL's
 * openadr3-client (test/e2e/openadr/ven_client.py) for both versions it serves: VENs registered by
 * the utility's admin, their forecasts as relay-attested items once a majority of the members let
 * UtilityA vouch for them, the aggregate and dispatch on the real ledger, and the refusals.
 */

useE2eGatewayPorts();

const PROGRAM_ID = 'hems-timeslots';
const VERSIONS: readonly OpenAdrVersion[] = ['3.1.0', '3.0.1'];
/** Each version's slot: long enough for its VENs' and devices' forecasts, short for the suite. */
const SLOT_DEADLINE_MS = 45_000;

/** Distinct VEN forecasts per version, apart from the devices' ranges (rangeFor, from 7.137 kW). */
const VEN_RANGES: Readonly<Record<OpenAdrVersion, readonly [number, number][]>> = {
  '3.1.0': [
    [1.217, 4.853],
    [2.381, 5.129],
  ],
  '3.0.1': [
    [1.563, 3.947],
    [0.839, 6.271],
  ],
};

interface ProblemBody {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
}

describe('the OpenADR 3 VTN of a utility gateway, through openadr3-client, on the real network', () => {
  let description: NetworkDescription;
  let actors: Actors;
  const gateways = new GatewayProcesses(E2E_STATE_DIR);
  const webhook = new Webhook();
  let restoreEnrolment: (() => Promise<void>) | undefined;
  /** Two VENs of homes on bus-1, whose forecasts go into every version's slot. */
  let vens: Ven[] = [];
  /** The forecasts the VENs sent (for the privacy checks), and the slots they went into. */
  const venForecasts: { slotId: string; lower: number; upper: number }[] = [];
  const slotsUsed: string[] = [];

  const ven = (index: number): Ven => {
    const found = vens[index];
    if (found === undefined) {
      throw new Error(`no VEN ${index}: the registration test ran first`);
    }
    return found;
  };

  async function registerVen(label: string, bus = 'bus-1'): Promise<Ven> {
    const homeId = `home-oadr-${label}-${randomBytes(3).toString('hex')}`;
    const registered = await callGateway<Omit<Ven, 'homeId' | 'bus'>>(
      description,
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      '/v1/vens',
      { homeId, bus, venName: `ven-${label}` },
    );
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    expect(registered.headers['cache-control']).to.equal('no-store');
    expect(registered.body).to.include({ venName: `ven-${label}` });
    for (const member of ['clientId', 'clientSecret', 'venId', 'enrollmentId'] as const) {
      expect(registered.body[member], member).to.be.a('string').and.not.equal('');
    }
    return { ...registered.body, homeId, bus };
  }

  /** The VEN's USAGE_FORECAST [lower, upper] for the slot's price event of its bus. */
  function sendForecast(
    version: OpenAdrVersion,
    sender: Ven,
    slotId: string,
    values: readonly number[],
    extra: Record<string, unknown> = {},
  ): Promise<unknown> {
    return venOp(description, version, sender, 'create_report', {
      eventID: derivedId('price', slotId, sender.bus),
      programID: PROGRAM_ID,
      clientName: sender.venName,
      reportName: 'forecast',
      resourceName: 'home',
      payloadType: 'USAGE_FORECAST',
      values,
      ...extra,
    });
  }

  /**
   * The VEN's dispatch event of the slot: IMPORT_CAPACITY_LIMIT = λ·Lmax + (1 − λ)·Lmin of its
   * forecast and λ; the other VEN's dispatch is not found, and its list holds its own only.
   */
  async function expectOwnDispatch(
    version: OpenAdrVersion,
    slotId: string,
    index: number,
    lambda: number,
    [lower, upper]: readonly [number, number],
  ): Promise<void> {
    const own = ven(index);
    const other = ven(1 - index);
    const dispatchId = derivedId('dispatch', slotId, own.venId);
    const event = await eventually(`${own.venName}'s dispatch event`, async () => {
      const answer = await venOp(description, version, own, 'event', { eventID: dispatchId });
      return isVenClientError(answer) ? undefined : (answer as OadrEvent);
    });
    const allowed = payloadValues(event, 'IMPORT_CAPACITY_LIMIT')?.[0] as number;
    expect(allowed).to.be.closeTo(lambda * upper + (1 - lambda) * lower, 0.0005);
    expect(payloadValues(event, 'x-HEMS-DISPATCH-FACTOR')).to.deep.equal([lambda]);

    // The other VEN's dispatch: not found, like any id it may not see.
    const hidden = refused(
      await venOp(description, version, own, 'event', {
        eventID: derivedId('dispatch', slotId, other.venId),
      }),
      404,
      "the other VEN's dispatch",
    );
    expect(problemOf(hidden)).to.include({ status: 404 });
    const listed = ok<OadrEvent[]>(
      await venOp(description, version, own, 'events', { programID: PROGRAM_ID }),
      'events after dispatch',
    );
    const dispatches = listed.filter((candidate) => candidate.id.startsWith('dispatch-'));
    expect(dispatches.map((candidate) => candidate.id)).to.include(dispatchId);
    // Its own dispatches only (of this slot and the earlier ones): never the other VEN's.
    const ownSuffix = dispatchId.slice(dispatchId.lastIndexOf('-'));
    expect(dispatches.every((candidate) => candidate.id.endsWith(ownSuffix))).to.equal(true);
    expect(JSON.stringify(listed)).to.not.include(other.venId);
  }

  const slotOf = (slotId: string): Promise<SlotView> =>
    evaluateJson<SlotView>(actors.dso.contract(), 'GetSlot', [slotId]);

  before(async function () {
    this.timeout(120_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    actors = new Actors();
    await webhook.start();
    await gateways.start(description, ['DSOMSP', UTILITY_A, UTILITY_B, 'RegulatorMSP'], {
      env: { HEMS_GATEWAY_OPENADR_HTTP_CALLBACKS: '1' },
    });
    // The suite's homes on bus-1 of UtilityA: its two VENs and three signing devices.
    restoreEnrolment = await enrolHomes(description, UTILITY_A, 'bus-1', 5);
  });

  after(async function () {
    this.timeout(60_000);
    await restoreEnrolment?.();
    await gateways.stop();
    await webhook.stop();
    actors?.close();
  });

  describe('VEN credentials and relay attestation by a majority of the members', () => {
    it("UtilityA's admin registers two VENs of homes on bus-1; GET /v1/vens lists them without secrets; nobody else may", async function () {
      this.timeout(60_000);
      vens = [await registerVen('one'), await registerVen('two')];
      const listed = await callGateway<{ vens: Record<string, unknown>[] }>(
        description,
        UTILITY_A,
        adminOf(UTILITY_A),
        'GET',
        '/v1/vens',
      );
      expect(listed.status, JSON.stringify(listed.body)).to.equal(200);
      for (const registered of vens) {
        const entry = listed.body.vens.find((candidate) => candidate.clientId === registered.clientId);
        expect(entry, registered.clientId).to.include({
          venId: registered.venId,
          venName: registered.venName,
          homeId: registered.homeId,
          bus: 'bus-1',
        });
        expect(entry).to.not.have.any.keys('secret', 'clientSecret', 'certificate', 'revokedAt');
      }
      // UtilityB's admin manages UtilityB's VENs only; the DSO none.
      for (const caller of [adminOf(UTILITY_B), DSO_OPERATOR]) {
        const foreign = await callGateway(description, UTILITY_A, caller, 'POST', '/v1/vens', {
          homeId: 'home-oadr-foreign',
          bus: 'bus-1',
        });
        expect(foreign.status, `${caller.mspId}: ${JSON.stringify(foreign.body)}`).to.equal(403);
      }
    });

    it('before a majority lets UtilityA attest, a VEN forecast is refused with 403, also once UtilityA alone proposed it; two more orgs approve and it applies', async function () {
      this.timeout(90_000);
      const slotId = uniqueSlotId('oadr-attest');
      await actors.openSlot(slotId, 120_000);
      const before = await evaluateJson<{ relayAttestationMspIds: string[]; approvalQuorum: number }>(
        actors.dso.contract('governance'),
        'GetSettings',
      );
      expect(before.relayAttestationMspIds).to.not.include(UTILITY_A);
      expect(before.approvalQuorum).to.equal(3);

      const refusedProblem = async (what: string): Promise<void> => {
        const error = refused(await sendForecast('3.1.0', ven(0), slotId, [1, 2]), 403, what);
        const problem = problemOf(error) as unknown as ProblemBody;
        expect(problem.status).to.equal(403);
        expect(problem.detail, what).to.match(/relayAttestationMspIds/);
      };
      await refusedProblem('a VEN forecast before any proposal');

      const proposalId = `oadr-attest-${randomBytes(4).toString('hex')}`;
      const change = JSON.stringify({ relayAttestationMspIds: [UTILITY_A] });
      const proposed = await submitJson<{ status: string; approvals: string[] }>(
        actors.admin(UTILITY_A).contract('governance'),
        'ProposeSettings',
        { args: [proposalId, change] },
      );
      expect(proposed).to.include({ status: 'PENDING' });
      expect(proposed.approvals).to.deep.equal([UTILITY_A]);
      await refusedProblem('a VEN forecast with only UtilityA in favour');

      const approve = (connection: FabricConnection): Promise<{ status: string; approvals: string[] }> =>
        submitJson(connection.contract('governance'), 'ApproveSettings', { args: [proposalId] });
      const second = await approve(actors.connect('DSOMSP', 'orgadmin'));
      expect(second, 'two of four orgs are no majority').to.include({ status: 'PENDING' });
      const third = await approve(actors.connect('RegulatorMSP', 'orgadmin'));
      expect(third).to.include({ status: 'APPLIED' });
      expect(third.approvals).to.have.members([UTILITY_A, 'DSOMSP', 'RegulatorMSP']);

      // Every member's peer has the new settings.
      for (const connection of [
        actors.dso,
        actors.auditor,
        actors.relay(UTILITY_B),
        actors.relay(UTILITY_A),
      ]) {
        await eventually('the applied settings on every peer', async () => {
          const settings = await evaluateJson<{ relayAttestationMspIds: string[] }>(
            connection.contract('governance'),
            'GetSettings',
          );
          return settings.relayAttestationMspIds.includes(UTILITY_A) ? true : undefined;
        });
      }
    });
  });

  for (const version of VERSIONS) {
    describe(`OpenADR ${version}`, () => {
      let slotId: string;
      let slot: SlotView;
      let token: string;
      /** The devices' signed forecasts: bus-1 reaches k = 5 homes with the two VENs. */
      let devices: Submission[] = [];
      const ranges = VEN_RANGES[version];

      before(async function () {
        this.timeout(30_000);
        expect(vens, 'the VENs are registered').to.have.length(2);
        slotId = uniqueSlotId(`oadr${version.replace(/\./g, '')}`);
        slotsUsed.push(slotId);
        await actors.openSlot(slotId, SLOT_DEADLINE_MS);
        slot = await slotOf(slotId);
      });

      it('token: client credentials give a bearer token with expires_in', async () => {
        const answer = ok<{ access_token: string; expires_in: number; token_type: string }>(
          await venOp(description, version, ven(0), 'token'),
          'token',
        );
        expect(answer.token_type).to.match(/^bearer$/i);
        expect(answer.expires_in).to.be.a('number').and.above(0);
        expect(answer.access_token).to.be.a('string').and.not.equal('');
        token = answer.access_token;
        expect(claimsOf(token)).to.include({ sub: ven(0).clientId, role: 'ven' });
        if (version === '3.1.0') {
          const discovered = ok<{ tokenURL: string }>(
            await venOp(description, version, ven(0), 'auth_server'),
            'auth server',
          );
          expect(discovered.tokenURL).to.match(/\/openadr\/3\.1\.0\/auth\/token$/);
        }
      });

      it(`programs: one program, ${PROGRAM_ID}`, async () => {
        const programs = ok<{ id: string; programName: string }[]>(
          await venOp(description, version, ven(0), 'programs'),
          'programs',
        );
        expect(programs.map((program) => program.id)).to.deep.equal([PROGRAM_ID]);
        const program = ok<{ id: string }>(
          await venOp(description, version, ven(0), 'program', { programID: PROGRAM_ID }),
          'program',
        );
        expect(program.id).to.equal(PROGRAM_ID);
      });

      it("events: the VEN's price event of the slot carries the ledger's price range of its bus", async () => {
        const prices = JSON.parse(PRICES) as { default: { lower: number; upper: number } };
        expect(slot.prices.default).to.deep.equal(prices.default);
        const priceId = derivedId('price', slotId, 'bus-1');
        for (const index of [0, 1]) {
          const events = ok<OadrEvent[]>(
            await venOp(description, version, ven(index), 'events', { programID: PROGRAM_ID }),
            'events',
          );
          const price = events.find((event) => event.id === priceId);
          expect(price, `${priceId} in ${JSON.stringify(events.map((event) => event.id))}`).to.not.equal(
            undefined,
          );
          expect(price?.programID).to.equal(PROGRAM_ID);
          expect(price?.intervals).to.have.length(1);
          expect(payloadValues(price, 'PRICE')).to.deep.equal([
            slot.prices.default?.lower,
            slot.prices.default?.upper,
          ]);
          // No dispatch of this slot yet, and no other bus's price.
          const ofSlot = derivedId('dispatch', slotId, '');
          expect(
            events.filter((event) => event.id.startsWith(ofSlot)).map((event) => event.id),
          ).to.deep.equal([]);
          expect(events.some((event) => event.id === derivedId('price', slotId, 'bus-2'))).to.equal(false);
        }
        const one = ok<OadrEvent>(
          await venOp(description, version, ven(0), 'event', { eventID: priceId }),
          'event by id',
        );
        expect(payloadValues(one, 'PRICE')).to.deep.equal([20, 80]);
        // Through the gateway's REST API the slot's prices are the same.
        const rest = await callGateway<{ prices: SlotView['prices'] }>(
          description,
          'DSOMSP',
          DSO_OPERATOR,
          'GET',
          `/v1/slots/${slotId}`,
        );
        expect(rest.status, JSON.stringify(rest.body)).to.equal(200);
        expect(rest.body.prices.default).to.deep.equal(slot.prices.default);
      });

      it('create_report USAGE_FORECAST from both VENs, with three devices of bus-1 signing theirs, before the deadline', async function () {
        this.timeout(60_000);
        const [first, second] = await Promise.all(
          [0, 1].map((index) => sendForecast(version, ven(index), slotId, ranges[index] ?? [0, 0])),
        );
        for (const [index, created] of [first, second].entries()) {
          const report = ok<{ id: string; eventID: string; objectType?: string }>(
            created,
            `VEN ${index}'s forecast`,
          );
          expect(report.eventID).to.equal(derivedId('price', slotId, 'bus-1'));
          expect(report.id).to.match(/^report-/);
          const [lower, upper] = ranges[index] ?? [0, 0];
          venForecasts.push({ slotId, lower, upper });
        }
        devices = ['hems-a-001', 'hems-a-002', 'hems-a-003'].map((name, index) =>
          signFor(
            sampleDevice(description, name),
            slotId,
            ...rangeFor(index + (version === '3.1.0' ? 40 : 50)),
          ),
        );
        const answers = await Promise.all(devices.map((submission) => postForecast(description, submission)));
        answers.forEach((answer, index) => expectAccepted(answer, slotId, `device ${index}`));
        // The VEN reads back its own report; the other VEN does not see it.
        const own = ok<{ eventID: string }[]>(
          await venOp(description, version, ven(0), 'reports', {
            eventID: derivedId('price', slotId, 'bus-1'),
          }),
          'own reports',
        );
        expect(own).to.have.length(1);
        const others = ok<{ clientName: string }[]>(
          await venOp(description, version, ven(1), 'reports', {}),
          "the other VEN's reports",
        );
        expect(others.every((report) => report.clientName === ven(1).venName)).to.equal(true);
      });

      it('a bad report is a 400 problem: no usage payload, two payloads, values [5, 1]', async function () {
        this.timeout(30_000);
        const cases: [string, Record<string, unknown>][] = [
          ['no usage payload', { payloadType: 'READING', values: [3] }],
          [
            'two payloads',
            {
              intervals: [
                { id: 0, values: [1, 2] },
                { id: 1, values: [1, 3] },
              ],
            },
          ],
          ['values [5, 1]', { values: [5, 1] }],
        ];
        for (const [what, fields] of cases) {
          const error = refused(await sendForecast(version, ven(0), slotId, [1, 2], fields), 400, what);
          const problem = problemOf(error) as unknown as ProblemBody;
          expect(problem, what).to.include({ status: 400, title: 'Bad Request' });
          expect(problem.detail, what).to.be.a('string');
        }
      });

      it('wrong secret: invalid_client (401); an expired or forged token: 401 on raw_get', async function () {
        this.timeout(30_000);
        const wrong = refused(
          await venOp(description, version, { ...ven(0), clientSecret: `${ven(0).clientSecret}x` }, 'token'),
          401,
          'a wrong secret',
        );
        expect(wrong.oauthError).to.equal('invalid_client');
        // The token of the token test works (positive control).
        const good = ok<{ status: number }>(
          await venOp(description, version, ven(0), 'raw_get', { path: 'programs', bearerToken: token }),
          'raw_get with a good token',
        );
        expect(good.status).to.equal(200);
        // Forged: other claims (the other VEN, no expiry) under the first token's MAC.
        const forgedBody = Buffer.from(
          JSON.stringify({ ...claimsOf(token), sub: ven(1).clientId, exp: 4_102_444_800 }),
        ).toString('base64url');
        const forged = `${forgedBody}.${token.split('.')[1] ?? ''}`;
        const tokens: [string, string | undefined][] = [
          ['forged', forged],
          ['random', randomBytes(32).toString('base64url')],
          // Expired: the VTN's own key and claims, an hour ago.
          [
            'expired',
            mintToken(description, {
              ...claimsOf(token),
              exp: Math.floor(Date.now() / 1000) - 3600,
            }),
          ],
        ];
        for (const [what, bearer] of tokens) {
          if (bearer === undefined) {
            continue;
          }
          const error = refused(
            await venOp(description, version, ven(0), 'raw_get', { path: 'events', bearerToken: bearer }),
            401,
            `${what} token`,
          );
          expect(error.wwwAuthenticate, what).to.match(/^Bearer/);
          expect((error.body as ProblemBody).status).to.equal(401);
        }
        expect(tokens[2]?.[1], 'the expired token was minted with the key').to.be.a('string');
      });

      it("after the deadline UtilityA's bus-1 aggregate counts the five homes, two of them relay-attested; business logic reads it by mutual TLS", async function () {
        this.timeout(120_000);
        const deadline = new Date(slot.deadline).getTime();
        await sleep(Math.max(0, deadline - Date.now()));
        let triggered = false;
        const aggregate = await eventually(
          `UtilityA's bus-1 aggregate of ${slotId}`,
          async () => {
            const view = await slotOf(slotId);
            const found = view.aggregates.find(
              (candidate) => candidate.org === UTILITY_A && candidate.bus === 'bus-1' && candidate.published,
            );
            if (found !== undefined) {
              return found;
            }
            if (!triggered && Date.now() > deadline + 5_000) {
              triggered = true;
              await callGateway(
                description,
                UTILITY_A,
                adminOf(UTILITY_A),
                'POST',
                `/v1/slots/${slotId}/aggregates`,
              );
            }
            return undefined;
          },
          60_000,
        );
        const lowers = [...ranges.map(([lower]) => lower), ...devices.map((device) => device.lower)];
        const uppers = [...ranges.map(([, upper]) => upper), ...devices.map((device) => device.upper)];
        expect(aggregate).to.include({
          homes: 5,
          withheld: false,
          relayAttested: 2,
          lower: sumKw(lowers),
          upper: sumKw(uppers),
        });

        // Business logic: a token by the DSO's certificate, no secret (RFC 8705).
        const blToken = await dsoRequest<{ access_token: string; expires_in: number }>(
          description,
          'POST',
          `/openadr/${version}/auth/token`,
          { body: 'grant_type=client_credentials' },
        );
        expect(blToken.status, JSON.stringify(blToken.body)).to.equal(200);
        expect(blToken.body.expires_in).to.be.above(0);
        const reports = await dsoRequest<
          { id: string; reportName: string; resources: { intervals: OadrEvent['intervals'] }[] }[]
        >(description, 'GET', `/openadr/${version}/reports`, { bearer: blToken.body.access_token });
        expect(reports.status, JSON.stringify(reports.body)).to.equal(200);
        const report = reports.body.find(
          (candidate) => candidate.id === derivedId('aggregate', slotId, 'bus-1'),
        );
        expect(report, JSON.stringify(reports.body.map((candidate) => candidate.id))).to.not.equal(undefined);
        expect(report?.reportName).to.equal('AGGREGATED_REPORT');
        const resource = report?.resources[0];
        expect(payloadValues(resource, 'USAGE_FORECAST')).to.deep.equal([aggregate.lower, aggregate.upper]);
        expect(payloadValues(resource, 'x-HEMS-HOMES')).to.deep.equal([5]);
        expect(payloadValues(resource, 'x-HEMS-RELAY-ATTESTED')).to.deep.equal([2]);
        // Without a certificate and a secret there is no token.
        const anonymous = await dsoRequest<{ error: string }>(
          description,
          'POST',
          `/openadr/${version}/auth/token`,
          { body: 'grant_type=client_credentials', clientCertificate: false },
        );
        expect(anonymous.status).to.equal(401);
        expect(anonymous.body.error).to.equal('invalid_client');
      });

      it("after the DSO's dispatch each VEN's dispatch event carries its allowed power λ·Lmax + (1 − λ)·Lmin and λ; the other VEN's is not found", async function () {
        this.timeout(90_000);
        const view = await slotOf(slotId);
        const total = view.busTotals.find((entry) => entry.bus === 'bus-1');
        const dispatched = await callGateway(
          description,
          'DSOMSP',
          DSO_OPERATOR,
          'POST',
          `/v1/slots/${slotId}/dispatch`,
          {
            capacities: {
              'bus-1':
                Math.round(((total?.lower ?? 0) + ((total?.upper ?? 0) - (total?.lower ?? 0)) * 0.4) * 1000) /
                1000,
              'bus-2': 50,
            },
          },
        );
        expect(dispatched.status, JSON.stringify(dispatched.body)).to.equal(201);
        const dispatch = (await slotOf(slotId)).dispatch;
        const lambda = dispatch?.perBus.find((entry) => entry.bus === 'bus-1')?.lambda ?? dispatch?.lambda;
        expect(lambda).to.be.a('number').within(0, 1);

        for (const index of [0, 1]) {
          await expectOwnDispatch(version, slotId, index, lambda ?? Number.NaN, ranges[index] ?? [0, 0]);
        }

        // A USAGE report after the dispatch: the home's consumption, accepted.
        const usage = ok<{ id: string }>(
          await venOp(description, version, ven(0), 'create_report', {
            eventID: derivedId('dispatch', slotId, ven(0).venId),
            programID: PROGRAM_ID,
            clientName: ven(0).venName,
            reportName: 'usage',
            resourceName: 'home',
            payloadType: 'USAGE',
            values: [0.777],
          }),
          'USAGE report',
        );
        expect(usage.id).to.match(/^report-/);
      });

      it('a revoked VEN gets no token, and its earlier token stops working', async function () {
        this.timeout(90_000);
        const doomed = await registerVen(`revoked${version.replace(/\./g, '')}`);
        const issued = ok<{ access_token: string }>(
          await venOp(description, version, doomed, 'token'),
          'token',
        );
        const before = ok<{ status: number }>(
          await venOp(description, version, doomed, 'raw_get', {
            path: 'events',
            bearerToken: issued.access_token,
          }),
          'events before the revocation',
        );
        expect(before.status).to.equal(200);
        const revoked = await callGateway<{ clientId: string; revokedAt: string; revokedSerials: string[] }>(
          description,
          UTILITY_A,
          adminOf(UTILITY_A),
          'DELETE',
          `/v1/vens/${encodeURIComponent(doomed.clientId)}`,
        );
        expect(revoked.status, JSON.stringify(revoked.body)).to.equal(200);
        expect(revoked.body.clientId).to.equal(doomed.clientId);
        expect(revoked.body.revokedSerials).to.have.length(1);

        // At once (clients.ts: "revocation takes effect at once"): a new token, and the old one.
        const statusOf = (result: unknown): { status: number | null; oauthError?: unknown } | 'ok' =>
          isVenClientError(result)
            ? {
                status: result.error.status,
                ...(result.error.oauthError === undefined ? {} : { oauthError: result.error.oauthError }),
              }
            : 'ok';
        const newToken = statusOf(await venOp(description, version, doomed, 'token'));
        const oldToken = statusOf(
          await venOp(description, version, doomed, 'raw_get', {
            path: 'events',
            bearerToken: issued.access_token,
          }),
        );
        expect(
          { newToken, oldToken },
          'right after DELETE /v1/vens/{clientId}: a token request, and a request with the earlier token',
        ).to.deep.equal({
          newToken: { status: 401, oauthError: 'invalid_client' },
          oldToken: { status: 401 },
        });
        const listed = await callGateway<{ vens: { clientId: string; revokedAt?: string }[] }>(
          description,
          UTILITY_A,
          adminOf(UTILITY_A),
          'GET',
          '/v1/vens',
        );
        expect(listed.body.vens.find((entry) => entry.clientId === doomed.clientId)?.revokedAt).to.be.a(
          'string',
        );
      });

      it('a subscription to EVENT creations: its webhook receives the price event when the next slot opens', async function () {
        this.timeout(60_000);
        const callbackPath = `/callback/${version}/${randomBytes(4).toString('hex')}`;
        const bearer = randomBytes(16).toString('hex');
        const created = ok<{ id: string }>(
          await venOp(description, version, ven(0), 'create_subscription', {
            programID: PROGRAM_ID,
            clientName: ven(0).venName,
            callbackUrl: webhook.url(callbackPath),
            bearerToken: bearer,
            objects: ['EVENT'],
            operations: ['POST'],
          }),
          'create_subscription',
        );
        expect(created.id).to.be.a('string');
        const listed = ok<{ id: string }[]>(
          await venOp(description, version, ven(0), 'subscriptions', { programID: PROGRAM_ID }),
          'subscriptions',
        );
        expect(listed.map((subscription) => subscription.id)).to.include(created.id);

        const next = uniqueSlotId(`oadrnext${version.replace(/\./g, '')}`);
        await actors.openSlot(next, 300_000);
        const notification = await eventually(
          `a notification of ${next} at the webhook`,
          () => Promise.resolve(webhook.received.find((candidate) => candidate.path === callbackPath)),
          30_000,
        );
        expect(notification.headers.authorization).to.equal(`Bearer ${bearer}`);
        expect(notification.body).to.include({ objectType: 'EVENT', operation: 'POST' });
        expect(notification.body.object?.id).to.equal(derivedId('price', next, 'bus-1'));
        expect(payloadValues(notification.body.object, 'PRICE')).to.deep.equal([20, 80]);
        // Removed again: later slots of the suite notify nobody.
        ok(
          await venOp(description, version, ven(0), 'delete_subscription', { subscriptionID: created.id }),
          'delete',
        );
      });
    });
  }

  describe('privacy of the VEN forecasts', () => {
    it('the batch transactions of the slots carry only the slot id; no VEN forecast value is in their response, event or public writes, nor in any block the DSO peer holds', async function () {
      this.timeout(120_000);
      expect(venForecasts.length, 'the VENs sent forecasts').to.be.at.least(2);
      const needles = venForecasts.flatMap(({ lower, upper }) => [
        ...encodings(`"lower":${lower}`),
        ...encodings(`"upper":${upper}`),
        ...encodings(`${lower},${upper}`),
        ...doubles(lower),
        ...doubles(upper),
      ]);
      const blocks: FetchedBlock[] = await fetchBlocks(actors.dso, actors.description.channel);
      let checked = 0;
      for (const slotId of slotsUsed) {
        const { batches } = await batchesOf(actors, slotId);
        expect(batches.length, `${slotId} has batches`).to.be.at.least(1);
        for (const txId of batches) {
          const block = blocks.find((candidate) => candidate.transactions.some((tx) => tx.txId === txId));
          const parts = block === undefined ? undefined : decodeBatchTransaction(block, txId);
          if (parts === undefined) {
            throw new Error(`${txId} is not on the DSO's peer`);
          }
          expect(parts.args).to.deep.equal(['SubmitForecasts', slotId]);
          const visible = Buffer.concat([
            Buffer.from(parts.args.join('\n')),
            Buffer.from(parts.response),
            Buffer.from(parts.eventName),
            parts.eventPayload,
            ...parts.publicWrites.flatMap((write) => [Buffer.from(write.key), write.value]),
          ]);
          for (const needle of needles) {
            expect(visible.includes(needle), `${txId} shows a VEN forecast value`).to.equal(false);
          }
          checked += 1;
        }
      }
      expect(checked).to.be.at.least(slotsUsed.length);
      const all = Buffer.concat(blocks.map((block) => block.bytes));
      for (const needle of needles) {
        expect(all.includes(needle), `the DSO's blocks hold ${needle.toString('utf8')}`).to.equal(false);
      }
      // On disk: UtilityA's peer keeps the VENs' forecasts in its private collection (positive
      // control); the other members' peers hold none of them.
      const stored = venForecasts.map(({ lower, upper }) => [
        Buffer.from(`"lower":${lower}`),
        Buffer.from(`"upper":${upper}`),
      ]);
      const peerFiles = (org: string): Buffer[] =>
        filesUnder(path.join(E2E_STATE_DIR, 'data', `peer0.${org}`)).map((file) => readFileSync(file));
      const utilityA = peerFiles('utilitya');
      expect(
        stored.some((pair) => pair.every((needle) => utilityA.some((content) => content.includes(needle)))),
        "UtilityA's peer stores the VEN forecasts",
      ).to.equal(true);
      for (const org of ['dso', 'regulator', 'utilityb']) {
        const files = peerFiles(org);
        for (const needle of stored.flat()) {
          expect(
            files.some((content) => content.includes(needle)),
            `${org}'s peer holds ${needle.toString('utf8')}`,
          ).to.equal(false);
        }
      }
    });
  });
});
