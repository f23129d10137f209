import { expect } from 'chai';
import { SLOT_READINGS_BODY_LIMIT, MAX_SLOT_READINGS } from '../src/resources/meter/schemas';
import type { TestGateway } from './support/gateway';
import { gatewaySuite } from './support/suite';
import { expectError, expectNoneOf } from './support/expectations';

// Distinctive private values: home ids and readings must never show up in logs or answers.
const READINGS = [
  { homeId: 'home-secret-81', energyWh: 8731 },
  { homeId: 'home-secret-82', energyWh: 0 },
];
const SECRETS = ['home-secret-81', 'home-secret-82', '8731'];
const URL = '/v1/slots/slot-1/meter-readings';
const TX_ID = 'f'.repeat(64);

describe("POST /v1/slots/:slotId/meter-readings (the meter head-end's readings of a dispatched slot)", () => {
  const suite = gatewaySuite(async (pki) => ({
    meter: await pki.role('UtilityAMSP', 'meter', 'meter-headend'),
    admin: await pki.role('UtilityAMSP', 'admin', 'orgadmin'),
    relay: await pki.role('UtilityAMSP', 'relay'),
  }));
  const post: TestGateway['post'] = (...args) => suite.gateway.post(...args);

  it('records the readings in transient data as the meter identity on its own peer, answering counts only', async () => {
    suite.gateway.ledger.on('RecordMeterReadings', { slotId: 'slot-1', accepted: 2, refused: [] });
    const response = await post(suite.meter, URL, { readings: READINGS });
    expect(response.statusCode, response.body).to.equal(200);
    expect(response.json()).to.deep.equal({
      slotId: 'slot-1',
      org: 'UtilityAMSP',
      accepted: 2,
      refused: [],
      txId: TX_ID,
    });
    const [call] = suite.gateway.ledger.callsOf('RecordMeterReadings');
    expect(call).to.deep.include({ identity: 'meter', contract: 'timeslot', kind: 'submit' });
    expect(call?.options.arguments).to.deep.equal(['slot-1']);
    expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    expect(
      JSON.parse(Buffer.from(call?.options.transientData?.readings ?? []).toString('utf8')),
    ).to.deep.equal(READINGS);
    expectNoneOf(response.body, SECRETS);
    expectNoneOf(suite.logs.join('\n'), SECRETS);
  });

  it('does not order a post whose every reading was refused, and passes the refusals on by position', async () => {
    const refused = [
      { index: 0, code: 'INVALID_ARGUMENT', message: 'readings[0].homeId must be …' },
      { index: 1, code: 'CONFLICT', message: 'the batch holds an earlier reading of the same home' },
    ];
    suite.gateway.ledger.on('RecordMeterReadings', { slotId: 'slot-1', accepted: 0, refused });
    const response = await post(suite.meter, URL, { readings: READINGS });
    expect(response.statusCode, response.body).to.equal(200);
    expect(response.json()).to.deep.equal({ slotId: 'slot-1', org: 'UtilityAMSP', accepted: 0, refused });
    expect(suite.gateway.ledger.skipped).to.include('RecordMeterReadings');
  });

  it('refuses malformed readings with 400 before the ledger, and takes the most readings the chaincode does', async () => {
    const cases: unknown[] = [
      {},
      { readings: [] },
      { readings: [{ homeId: 'home-1', energyWh: 1.5 }] },
      { readings: [{ homeId: 'home-1', energyWh: -1 }] },
      { readings: [{ homeId: 'bad id', energyWh: 1 }] },
      { readings: [{ homeId: 'home-1', energyWh: 1, extra: 1 }] },
      { readings: Array.from({ length: MAX_SLOT_READINGS + 1 }, () => ({ homeId: 'home-1', energyWh: 1 })) },
    ];
    for (const body of cases) {
      const response = await post(suite.meter, URL, body);
      expectError(response, 400, 'INVALID_REQUEST');
    }
    expect(suite.gateway.ledger.calls).to.have.length(0);
    const longest = Array.from({ length: MAX_SLOT_READINGS }, (_, index) => ({
      homeId: `${'h'.repeat(124)}${String(index).padStart(4, '0')}`,
      energyWh: 2_500_000,
    }));
    expect(JSON.stringify({ readings: longest }).length).to.be.below(SLOT_READINGS_BODY_LIMIT);
    suite.gateway.ledger.on('RecordMeterReadings', {
      slotId: 'slot-1',
      accepted: MAX_SLOT_READINGS,
      refused: [],
    });
    expect((await post(suite.meter, URL, { readings: longest })).statusCode).to.equal(200);
  });

  it("refuses every caller but its own utility's meter head-end", async () => {
    for (const caller of [suite.admin, suite.relay, await suite.pki.role('UtilityBMSP', 'meter')]) {
      expectError(await post(caller, URL, { readings: READINGS }), 403, 'FORBIDDEN');
    }
    expect(suite.gateway.ledger.calls).to.have.length(0);
  });

  it('maps a slot without dispatch to 409 and an unknown one to 404', async () => {
    suite.gateway.ledger.refuse(
      'RecordMeterReadings',
      'FAILED_PRECONDITION',
      'slot slot-1 has no dispatch yet',
    );
    expectError(
      await post(suite.meter, URL, { readings: READINGS }),
      409,
      'FAILED_PRECONDITION',
      /no dispatch/,
    );
    suite.gateway.ledger.refuse('RecordMeterReadings', 'NOT_FOUND', 'slot slot-1 does not exist');
    expectError(await post(suite.meter, URL, { readings: READINGS }), 404, 'NOT_FOUND');
  });
});
