import { expect } from 'chai';
import { identities } from './support/fake-ledger';
import { freshNonce, type TestDevice } from './support/pki';
import { callersOtherThan, MINUTE, Scenario, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

const slotId = 'slot-1';
const collectionA = `${UTILITY_A}PrivateCollection`;

describe('GetSlotHistory', () => {
  it('lists every version of the slot and its aggregates with tx ids and times, in time order', async () => {
    const s = await Scenario.withSlot(slotId);
    s.ledger.advance(15 * MINUTE);
    await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
    s.ledger.advance(MINUTE);
    await s.dispatch(slotId, '0.3');
    const history = JSON.parse(
      await s.ledger.evaluate(identities.auditor(), (ctx) => s.timeslot.GetSlotHistory(ctx, slotId)),
    ) as { entries: { record: string; txId: string; timestamp: string; isDelete: boolean }[] };
    expect(history.entries.map((e) => e.record)).to.deep.equal([
      'slot',
      `aggregate ${UTILITY_A} bus-1`,
      `aggregate ${UTILITY_A} bus-2`,
      `aggregate ${UTILITY_B} bus-1`,
      `aggregate ${UTILITY_A} bus-1`,
      'slot',
    ]);
    const txIds = s.ledger.committed.map((tx) => tx.txId);
    for (const entry of history.entries) {
      expect(txIds).to.include(entry.txId);
      expect(entry.isDelete).to.equal(false);
    }
    const times = history.entries.map((e) => e.timestamp);
    expect([...times].sort()).to.deep.equal(times);
    expect(history.entries.at(-1)).to.include({ record: 'slot', timestamp: '2026-11-21T10:16:00.000Z' });
    expect(history.entries.filter((e) => e.record === `aggregate ${UTILITY_A} bus-1`)).to.have.length(2);
  });

  it('refuses outsiders and unknown slots', async () => {
    const s = await Scenario.create();
    await expectRefusal(
      s.ledger.evaluate(identities.outsider(), (ctx) => s.timeslot.GetSlotHistory(ctx, slotId)),
      'FORBIDDEN',
    );
    await expectRefusal(
      s.ledger.evaluate(identities.auditor(), (ctx) => s.timeslot.GetSlotHistory(ctx, slotId)),
      'NOT_FOUND',
    );
  });
});

describe('GetForecastProof and VerifyForecastProof', () => {
  let s: Scenario;
  let device: TestDevice;
  let proof: {
    batch: string;
    index: number;
    count: number;
    path: string[];
    forecast: Record<string, unknown>;
  };
  const nonce = freshNonce();
  const forecast = { slotId, bus: 'bus-1', lower: 1.5, upper: 2.75, nonce };
  const verify = (
    reveal: unknown,
    batch = proof.batch,
    org = UTILITY_A,
    who = identities.auditor(),
  ): Promise<Record<string, unknown>> =>
    s.ledger
      .evaluate(who, (ctx) => s.timeslot.VerifyForecastProof(ctx, org, slotId, batch), {
        transient: { revealed: JSON.stringify(reveal) },
      })
      .then((text) => JSON.parse(text) as Record<string, unknown>);
  const revealed = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    forecast,
    index: proof.index,
    count: proof.count,
    path: proof.path,
    ...overrides,
  });
  const proofOf = (who = identities.relay(UTILITY_A), peer = UTILITY_A, of = device): Promise<typeof proof> =>
    s.ledger.evaluateJson<typeof proof>(who, (ctx) => s.timeslot.GetForecastProof(ctx, slotId), {
      peer,
      transient: { certificate: of.pem },
    });

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    const others = await Promise.all([0, 1, 2, 3].map(() => s.device(UTILITY_A, 'bus-1')));
    device = await s.device(UTILITY_A, 'bus-1');
    // The home is the fourth of five items, so its path has a carried-up level and real siblings.
    await s.submitBatch(UTILITY_A, [
      ...others.slice(0, 3).map((other) => ({ device: other, forecast: { slotId, lower: 1, upper: 2 } })),
      { device, forecast },
      { device: others[3]!, forecast: { slotId, lower: 0, upper: 1 } },
    ]);
    proof = await proofOf();
  });

  it("gives the home its batch, position and Merkle path, holding no other home's value", () => {
    expect(proof).to.include({ index: 3, count: 5 });
    expect(proof.forecast).to.deep.equal(forecast);
    expect(proof.path).to.have.length(3);
    expect(JSON.stringify(proof)).to.not.match(/"lower":1,|"upper":2,|"lower":0,/);
  });

  it("matches a home's revealed forecast against the on-chain hash, on the regulator's peer outside the collection", async () => {
    expect(await verify(revealed())).to.deep.equal({ slotId, org: UTILITY_A, match: true });
    // Key order and number spelling of the revealed JSON do not matter: it is canonicalized.
    expect(
      await verify(revealed({ forecast: { upper: 2.75, nonce, lower: 1.5, bus: 'bus-1', slotId } })),
    ).to.include({ match: true });
  });

  it('does not match an altered value, nonce, bus, position, count or path, nor an unknown batch', async () => {
    expect(await verify(revealed({ forecast: { ...forecast, upper: 2.7 } }))).to.include({ match: false });
    expect(await verify(revealed({ forecast: { ...forecast, nonce: freshNonce() } }))).to.include({
      match: false,
    });
    expect(await verify(revealed({ forecast: { ...forecast, bus: 'bus-2' } }))).to.include({ match: false });
    expect(await verify(revealed({ index: 2 }))).to.include({ match: false });
    expect(await verify(revealed({ count: 4 }))).to.include({ match: false });
    expect(await verify(revealed({ path: [...proof.path].reverse() }))).to.include({ match: false });
    // An unknown batch gets exactly the answer of a mismatch: no existence oracle.
    expect(await verify(revealed(), 'a'.repeat(64))).to.deep.equal(
      await verify(revealed({ forecast: { ...forecast, upper: 2.7 } })),
    );
  });

  it('refuses outsiders, non-utility orgs, a slot mismatch and malformed reveals', async () => {
    await expectRefusal(verify(revealed(), proof.batch, UTILITY_A, identities.outsider()), 'FORBIDDEN');
    await expectRefusal(
      verify(revealed(), proof.batch, 'DSOMSP'),
      'INVALID_ARGUMENT',
      /not a utility organization/,
    );
    await expectRefusal(verify(revealed(), proof.batch, 'bad msp!'), 'INVALID_ARGUMENT', /org must be/);
    await expectRefusal(verify(revealed(), 'nope'), 'INVALID_ARGUMENT', /batch must be/);
    await expectRefusal(
      verify(revealed({ forecast: { ...forecast, slotId: 'slot-2' } })),
      'INVALID_ARGUMENT',
      /does not match/,
    );
    await expectRefusal(
      verify(revealed({ forecast: { ...forecast, lower: 'x' } })),
      'INVALID_ARGUMENT',
      /must be a number/,
    );
    await expectRefusal(verify(revealed({ extra: 1 })), 'INVALID_ARGUMENT', /unknown field/);
    await expectRefusal(verify(revealed({ index: 5 })), 'INVALID_ARGUMENT', /revealed.index/);
    await expectRefusal(verify(revealed({ count: 0 })), 'INVALID_ARGUMENT', /revealed.count/);
    await expectRefusal(verify(revealed({ path: ['x'] })), 'INVALID_ARGUMENT', /revealed.path\[0\]/);
    await expectRefusal(
      s.ledger.evaluate(identities.auditor(), (ctx) =>
        s.timeslot.VerifyForecastProof(ctx, UTILITY_A, slotId, proof.batch),
      ),
      'INVALID_ARGUMENT',
      /'revealed' is required/,
    );
  });

  it("GetForecastProof: the utility's relay on its own peer only, and only for a home with a forecast", async () => {
    for (const { caller, peer } of callersOtherThan(['relay'])) {
      await expectRefusal(proofOf(caller, peer), 'FORBIDDEN');
    }
    await expectRefusal(
      proofOf(identities.relay(UTILITY_A), UTILITY_A, await s.device(UTILITY_A, 'bus-1')),
      'NOT_FOUND',
      /no forecast of this home/,
    );
    const device = await s.device(UTILITY_A, 'bus-1');
    await expectRefusal(
      s.ledger.evaluate(
        identities.relay(UTILITY_A),
        (ctx) => s.timeslot.GetForecastProof(ctx, 'slot-unknown'),
        {
          peer: UTILITY_A,
          transient: { certificate: device.pem },
        },
      ),
      'NOT_FOUND',
      /slot-unknown/,
    );
  });
});

describe('SettleSlot and PurgeForecasts', () => {
  let s: Scenario;
  const purge = async (who = identities.relay(UTILITY_A), peer = UTILITY_A): Promise<string> => {
    const batches =
      peer === UTILITY_A && (who.role === 'relay' || who.nodeOuAdmin)
        ? await s.listBatches(slotId, UTILITY_A, who)
        : [];
    return s.ledger.invoke(who, (ctx) => s.timeslot.PurgeForecasts(ctx, slotId), {
      peer,
      transient: { batches: JSON.stringify(batches) },
    });
  };
  const settle = (who = identities.dso()): Promise<string> =>
    s.ledger.invoke(who, (ctx) => s.timeslot.SettleSlot(ctx, slotId));

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    await s.submitMany(slotId, UTILITY_A, 'bus-1', [
      [1, 2],
      [2, 3],
    ]);
  });

  it('settles a dispatched slot after its deadline, then purges its forecasts and nonces but keeps their hashes', async () => {
    await expectRefusal(settle(), 'FAILED_PRECONDITION', /before its dispatch/);
    s.ledger.advance(15 * MINUTE);
    await s.dispatch(slotId, '0.5');
    await expectRefusal(purge(), 'FAILED_PRECONDITION', /neither settled nor past its retention/);
    const event = JSON.parse(await settle()) as { status: string };
    expect(event.status).to.equal('SETTLED');
    expect(s.ledger.committed.at(-1)?.events[0]?.name).to.equal('SlotSettled');
    await expectRefusal(settle(), 'CONFLICT', /already settled/);
    const result = JSON.parse(await purge()) as { purgedForecasts: number };
    expect(result.purgedForecasts).to.equal(2);
    expect([...s.ledger.collection(collectionA).keys()].filter((k) => k.includes(slotId))).to.deep.equal([]);
    // The purge transaction itself wrote nothing public.
    expect(s.ledger.committed.at(-1)?.publicWrites).to.deep.equal([]);
  });

  it('purges after the retention window even when the slot was never settled', async () => {
    s.ledger.advance(15 * MINUTE + 7 * 24 * 60 * MINUTE);
    const result = JSON.parse(await purge(identities.admin(UTILITY_A))) as { purgedForecasts: number };
    expect(result.purgedForecasts).to.equal(2);
  });

  it('refuses the wrong roles and peers, and settling before the deadline', async () => {
    await s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.PublishDispatch(ctx, slotId, '0.5', '', ''), {
      at: new Date(s.ledger.now.getTime() + 15 * MINUTE),
    });
    await expectRefusal(settle(), 'FAILED_PRECONDITION', /before its deadline/);
    await expectRefusal(settle(identities.relay()), 'FORBIDDEN');
    await expectRefusal(purge(identities.dso(), UTILITY_A), 'FORBIDDEN');
    await expectRefusal(purge(identities.relay(UTILITY_A), UTILITY_B), 'FORBIDDEN', /own organization/);
    await expectRefusal(purge(identities.meter(UTILITY_A)), 'FORBIDDEN');
    await expectRefusal(
      s.ledger.invoke(identities.dso(), (ctx) => s.timeslot.SettleSlot(ctx, 'slot-9')),
      'NOT_FOUND',
    );
  });
});
