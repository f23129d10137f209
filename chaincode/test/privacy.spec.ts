import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { canonicalJson } from '@hems/protocol';
import { identities } from './support/fake-ledger';
import { freshNonce, type TestDevice } from './support/pki';
import { itemAt } from './support/lists';
import {
  MINUTE,
  Scenario,
  UTILITY_A,
  UTILITY_B,
  expectRefusal,
  expectRelayTransactions,
} from './support/scenario';

const slotId = 'slot-p';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Forecasts on a coarse 0.25 kW grid: an unsalted encoding would fall to a tiny brute force. */
const A_BUS1: readonly (readonly [number, number])[] = [
  [1.25, 7.75],
  [2.5, 6.25],
  [0.75, 9.5],
  [3.25, 8.25],
  [4.5, 5.75],
];
const B_BUS1: readonly (readonly [number, number])[] = [
  [1.75, 2.25],
  [0.25, 3.75],
  [2.75, 4.25],
  [5.25, 6.75],
  [3.5, 9.25],
];

/**
 * A value as it could be spelled: in kW anywhere (bounded, so 1.25 does not match 11.25), or as a
 * JSON number in watts (after ':', ',' or '[', so hex transaction ids do not count).
 */
function spellings(kw: number): RegExp[] {
  const text = String(kw).replace('.', '\\.');
  return [new RegExp(`(?<![0-9.])${text}(?![0-9])`), new RegExp(`[:,\\[]${Math.round(kw * 1000)}(?![0-9.])`)];
}

/** The consumption total of a dispatched bus before any of `pendingOrgs` published a summary. */
function noConsumptionYet(pendingOrgs: string[]): Record<string, unknown> {
  return {
    homes: 0,
    withheldHomes: 0,
    drawnKw: 0,
    nonCompliant: 0,
    relayAttested: 0,
    metered: 0,
    mismatched: 0,
    orgs: [],
    withheldOrgs: [],
    pendingOrgs,
  };
}

describe('privacy (P1, P2, P3) of a full slot', () => {
  let s: Scenario;
  let devices: TestDevice[];
  let publicSurface: string;
  const nonces: string[] = [];

  before(async () => {
    s = await Scenario.withSlot(slotId);
    devices = [];
    for (const [org, list] of [
      [UTILITY_A, A_BUS1],
      [UTILITY_B, B_BUS1],
    ] as const) {
      for (const [lower, upper] of list) {
        const device = await s.device(org, 'bus-1');
        const nonce = freshNonce();
        nonces.push(nonce);
        await s.submit(org, device, { slotId, lower, upper, nonce });
        devices.push(device);
      }
    }
    const small = await s.device(UTILITY_A, 'bus-2');
    devices.push(small);
    await s.submit(UTILITY_A, small, { slotId, lower: 6.5, upper: 8.5 });
    // Refusals whose texts must not echo the values either.
    for (const [lower, upper] of [
      [9.75, 3.25],
      [1.625, 77.75],
      [1.2345, 2.125],
    ]) {
      await expectRefusal(
        s.submit(UTILITY_A, itemAt(devices, 0), { slotId, lower, upper }),
        'INVALID_ARGUMENT',
      );
    }
    s.ledger.advance(15 * MINUTE);
    await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
    await s.publishAggregate(slotId, UTILITY_A, 'bus-2');
    await s.publishAggregate(slotId, UTILITY_B, 'bus-1', identities.admin(UTILITY_B));
    await s.dispatch(slotId, '0.5');
    await expectRefusal(
      s.ledger.evaluate(identities.relay(UTILITY_A), (ctx) =>
        s.timeslot.GetAllowedPower(ctx, slotId, 'e'.repeat(64)),
      ),
      'NOT_FOUND',
    );

    // Everything a channel member outside the home's utility gets to see.
    publicSurface = s.ledger.publicSurface();
  });

  it('publishes the per-bus sums (and withholds the bus below k)', async () => {
    const slot = (await s.getSlot(slotId, identities.dso())) as { busTotals: Record<string, unknown>[] };
    expect(slot.busTotals).to.deep.equal([
      {
        bus: 'bus-1',
        homes: 10,
        withheldHomes: 0,
        lower: 25.75,
        upper: 63.75,
        relayAttested: 0,
        orgs: [UTILITY_A, UTILITY_B],
        withheldOrgs: [],
        pendingOrgs: [],
        // Dispatched, but no consumption summary published yet.
        consumption: noConsumptionYet([UTILITY_A, UTILITY_B]),
      },
      {
        bus: 'bus-2',
        homes: 0,
        withheldHomes: 1,
        lower: 0,
        upper: 0,
        relayAttested: 0,
        orgs: [],
        withheldOrgs: [UTILITY_A],
        pendingOrgs: [],
        consumption: noConsumptionYet([UTILITY_A]),
      },
    ]);
  });

  it('P1: no individual forecast value appears in public state, events, responses, read sets or errors', () => {
    for (const [lower, upper] of [
      ...A_BUS1,
      ...B_BUS1,
      [6.5, 8.5],
      [9.75, 3.25],
      [1.625, 77.75],
      [1.2345, 2.125],
    ]) {
      for (const kw of [lower, upper]) {
        // 25.75 and 63.75 are the published sums; individual values that equal them cannot be told apart.
        for (const pattern of spellings(kw)) {
          expect(publicSurface, `value ${kw}`).to.not.match(pattern);
        }
      }
    }
  });

  it('P2: no home id, certificate serial or nonce appears anywhere public', () => {
    for (const device of devices) {
      expect(publicSurface).to.not.include(device.homeId);
      expect(publicSurface.toUpperCase()).to.not.include(device.serial);
    }
    for (const nonce of nonces) {
      expect(publicSurface).to.not.include(nonce);
    }
  });

  it('P2: homes never create transactions; every forecast transaction is created by a relay of its utility', () => {
    const forecastTxs = s.ledger.committedWithPrivateKey('hems.forecast');
    expectRelayTransactions(forecastTxs, 11);
    for (const tx of forecastTxs) {
      expect(tx.publicWrites).to.deep.equal([]);
    }
  });

  it("P2: a forecast transaction's public read set names no device, bus or home", () => {
    const forecastTxs = s.ledger.committed.filter((tx) =>
      tx.privateKeys.some((k) => k.key.includes('hems.forecast')),
    );
    for (const tx of forecastTxs) {
      for (const read of tx.publicReads) {
        expect(read).to.not.match(/bus-|home-/);
        const aggregateRange = `range:\u0000hems.aggregate\u0000${slotId}\u0000${tx.creator}\u0000`;
        expect(
          read === aggregateRange || /hems\.(slot|orgca|revocations|settings)/.test(read),
          read,
        ).to.equal(true);
      }
    }
  });

  it('P2: private keys carry no home id in clear, and their on-ledger hashes resist enumeration of home ids', () => {
    const hashes = s.ledger.committed.flatMap((tx) => tx.privateWriteHashes.map((h) => h.keyHash));
    const keys = s.ledger.committed.flatMap((tx) => tx.privateKeys.map((k) => k.key));
    for (const device of devices) {
      expect(keys.join('|')).to.not.include(device.homeId);
    }
    // An attacker who knows the key layout tries every plausible home id in plausible key forms.
    for (let n = 1; n <= 200; n += 1) {
      for (const org of [UTILITY_A, UTILITY_B]) {
        const home = `home-${org}-${n}`;
        for (const candidate of [
          `\u0000hems.forecast\u0000${slotId}\u0000${home}\u0000`,
          `\u0000hems.forecast\u0000${slotId}\u0000${sha256(home)}\u0000`,
          `\u0000hems.forecast\u0000${slotId}\u0000bus-1\u0000${home}\u0000`,
        ]) {
          expect(hashes).to.not.include(sha256(candidate));
        }
      }
    }
  });

  it('P2: private value hashes cannot be brute-forced: the nonce makes a grid search fail', () => {
    const valueHashes = new Set(
      s.ledger.committed.flatMap((tx) => tx.privateWriteHashes.map((h) => h.valueHash)),
    );
    let tried = 0;
    for (let lower = 0; lower <= 10; lower += 0.25) {
      for (let upper = lower; upper <= 10; upper += 0.25) {
        for (const candidate of [
          canonicalJson({ bus: 'bus-1', lower, slotId, upper }),
          canonicalJson({ lower, slotId, upper }),
          `${lower},${upper}`,
          `${upper},${lower}`,
        ]) {
          tried += 1;
          expect(valueHashes.has(sha256(candidate))).to.equal(false);
        }
      }
    }
    expect(tried).to.be.greaterThan(3000);
  });

  it('P3: the withheld aggregate carries no sums in state or events', () => {
    const withheld = s.ledger.committed
      .flatMap((tx) => tx.publicWrites)
      .filter((w) => w.value.includes('"withheld":true'));
    // The aggregate itself, and the dispatch's copy of the aggregates it used in the slot record.
    expect(withheld).to.have.length(2);
    for (const write of withheld) {
      const record = JSON.parse(write.value) as {
        dispatch?: { aggregates: { withheld: boolean }[] };
      };
      const entries = record.dispatch?.aggregates.filter((agg) => agg.withheld) ?? [record];
      expect(entries).to.have.length(1);
      expect(JSON.stringify(entries[0])).to.not.match(/"lower"|"upper"/);
    }
    const events = s.ledger.committed
      .flatMap((tx) => tx.events)
      .filter((e) => e.payload.includes('"withheld":true'));
    expect(events).to.have.length(1);
    expect(events[0]?.payload).to.not.match(/"lower"|"upper"/);
  });

  it('P1: SubmitForecast takes the slot id as its only argument; the forecast travels in transient data', () => {
    expect(s.timeslot.SubmitForecast.length).to.equal(2); // (ctx, slotId)
  });
});
