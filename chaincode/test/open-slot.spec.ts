import { AuctionContract } from '../src/auction/auction-contract';
import { expect } from 'chai';
import { KeyEndorsementPolicy } from 'fabric-shim';
import { identities } from './support/fake-ledger';
import { DEFAULT_PRICES, MINUTE, Scenario, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

describe('OpenSlot', () => {
  let s: Scenario;
  const deadline = (ms = 15 * MINUTE): string => new Date(s.ledger.now.getTime() + ms).toISOString();
  const open = (
    slotId: string,
    prices = DEFAULT_PRICES,
    at = deadline(),
    who = identities.dso(),
  ): Promise<string> => s.ledger.invoke(who, (ctx) => s.timeslot.OpenSlot(ctx, slotId, at, prices, ''));

  beforeEach(async () => {
    s = await Scenario.create();
  });

  it('stores the slot with sorted per-bus prices, the enrolment snapshot and a SlotOpened event', async () => {
    const result = JSON.parse(await open('2026-11-21T10:15Z')) as Record<string, unknown>;
    expect(result).to.include({
      slotId: '2026-11-21T10:15Z',
      status: 'OPEN',
      deadline: '2026-11-21T10:15:00.000Z',
    });
    expect(result.expected).to.deep.equal([
      { org: UTILITY_A, bus: 'bus-1', homes: 5 },
      { org: UTILITY_A, bus: 'bus-2', homes: 2 },
      { org: UTILITY_B, bus: 'bus-1', homes: 5 },
    ]);
    const tx = s.ledger.committed.at(-1);
    expect(tx?.events).to.have.length(1);
    expect(tx?.events[0]?.name).to.equal('SlotOpened');
    expect(JSON.parse(tx?.events[0]?.payload ?? '{}')).to.deep.equal({
      slotId: '2026-11-21T10:15Z',
      deadline: '2026-11-21T10:15:00.000Z',
      prices: { default: { lower: 20, upper: 80 }, buses: [{ bus: 'bus-2', lower: 35.5, upper: 120 }] },
      buses: [
        { org: UTILITY_A, bus: 'bus-1' },
        { org: UTILITY_A, bus: 'bus-2' },
        { org: UTILITY_B, bus: 'bus-1' },
      ],
    });
  });

  it("gives each pending aggregate a key-level endorsement policy naming only that utility's peer", async () => {
    await open('slot-1');
    const aggregateKeys = [...s.ledger.validationParameters.keys()].filter((key) =>
      key.includes('hems.aggregate'),
    );
    expect(aggregateKeys).to.have.length(3);
    for (const key of aggregateKeys) {
      const policy = new KeyEndorsementPolicy(s.ledger.validationParameters.get(key));
      const org = key.includes(UTILITY_A) ? UTILITY_A : UTILITY_B;
      expect(policy.listOrgs()).to.deep.equal([org]);
    }
  });

  it('accepts per-bus prices without a default, and a default alone', async () => {
    await open('slot-a', JSON.stringify({ buses: [{ bus: 'b9', lower: -5.25, upper: 0 }] }));
    await open('slot-b', JSON.stringify({ default: { lower: 1, upper: 1 } }));
    const slot = await s.getSlot('slot-a');
    expect(slot.prices).to.deep.equal({ buses: [{ bus: 'b9', lower: -5.25, upper: 0 }] });
  });

  it('ignores enrolment of orgs that are not utilities and buses with no homes', async () => {
    await s.ledger.invoke(identities.admin(UTILITY_B), (ctx) =>
      s.governance.SetEnrolledHomes(ctx, 'bus-1', '0'),
    );
    const result = JSON.parse(await open('slot-z')) as { expected: { org: string }[] };
    expect(result.expected.map((e) => e.org)).to.deep.equal([UTILITY_A, UTILITY_A]);
  });

  describe('refuses', () => {
    it('callers that are not DSO operators', async () => {
      await expectRefusal(
        open('s', DEFAULT_PRICES, deadline(), identities.relay()),
        'FORBIDDEN',
        /DSO operators/,
      );
      await expectRefusal(
        open('s', DEFAULT_PRICES, deadline(), { mspId: 'DSOMSP', role: 'auditor' }),
        'FORBIDDEN',
      );
      await expectRefusal(open('s', DEFAULT_PRICES, deadline(), { mspId: 'DSOMSP' }), 'FORBIDDEN');
      await expectRefusal(open('s', DEFAULT_PRICES, deadline(), identities.outsider()), 'FORBIDDEN');
      await expectRefusal(open('s', DEFAULT_PRICES, deadline(), identities.admin('DSOMSP')), 'FORBIDDEN');
    });

    it('a slot that exists', async () => {
      await open('slot-1');
      await expectRefusal(open('slot-1'), 'CONFLICT', /slot slot-1 already exists/);
    });

    it('a deadline not after the transaction time, too far ahead, or malformed', async () => {
      await expectRefusal(
        open('s', DEFAULT_PRICES, deadline(0)),
        'INVALID_ARGUMENT',
        /after the transaction time/,
      );
      await expectRefusal(
        open('s', DEFAULT_PRICES, deadline(-MINUTE)),
        'INVALID_ARGUMENT',
        /after the transaction time/,
      );
      await expectRefusal(
        open('s', DEFAULT_PRICES, deadline(8 * 24 * 60 * MINUTE)),
        'INVALID_ARGUMENT',
        /7 days/,
      );
      for (const bad of [
        'tomorrow',
        '2026-11-21 10:15:00',
        '2026-11-21T10:15:00',
        '1763720100',
        '',
        '2026-13-45T99:99:99Z',
      ]) {
        await expectRefusal(open('s', DEFAULT_PRICES, bad), 'INVALID_ARGUMENT', /deadline/);
      }
    });

    it('malformed and hostile slot ids', async () => {
      for (const bad of [
        '',
        ' ',
        '../etc',
        'a'.repeat(65),
        'slot\u0000x',
        'slot 1',
        '<script>',
        'ü',
        '-lead',
      ]) {
        await expectRefusal(open(bad), 'INVALID_ARGUMENT', /slotId must be/);
      }
    });

    it('bad prices: not JSON, wrong shapes, non-finite, huge, reversed, duplicated, empty or unknown fields', async () => {
      const cases: [string, RegExp][] = [
        ['not json', /prices is not valid JSON/],
        ['[]', /prices must be a JSON object/],
        ['{}', /default range or at least one bus/],
        ['{"default":{"lower":"1","upper":2}}', /prices.default.lower must be a number/],
        ['{"default":{"lower":1e400,"upper":2}}', /prices.default.lower must be a finite number/],
        ['{"default":{"lower":-1e400,"upper":2}}', /finite/],
        ['{"default":{"lower":1,"upper":1e9}}', /prices.default.upper must be between/],
        ['{"default":{"lower":5,"upper":4}}', /lower must not exceed/],
        ['{"default":{"lower":1.00001,"upper":4}}', /at most 4 decimal places/],
        ['{"default":{"lower":1,"upper":4,"currency":"EUR"}}', /unknown field\(s\): currency/],
        ['{"default":{"lower":1,"upper":4},"extra":1}', /unknown field\(s\): extra/],
        ['{"buses":[{"bus":"b1","lower":1,"upper":2},{"bus":"b1","lower":1,"upper":2}]}', /bus b1 twice/],
        ['{"buses":[{"bus":"","lower":1,"upper":2}]}', /prices.buses\[0\].bus must be/],
        ['{"buses":{"bus":"b1"}}', /prices.buses must be a JSON array/],
        ['{"buses":[null]}', /prices.buses\[0\] must be a JSON object/],
        [JSON.stringify({ default: { lower: 0, upper: 1, ['x'.repeat(40)]: 1 } }), /unprintable key/],
      ];
      for (const [prices, pattern] of cases) {
        await expectRefusal(open('s', prices), 'INVALID_ARGUMENT', pattern);
      }
      const tooMany = {
        buses: Array.from({ length: 1001 }, (_, i) => ({ bus: `b${i}`, lower: 0, upper: 1 })),
      };
      await expectRefusal(open('s', JSON.stringify(tooMany)), 'INVALID_ARGUMENT', /at most 1000 entries/);
      await expectRefusal(
        open('s', `{"default":{"lower":1,"upper":2},"pad":"${'x'.repeat(300000)}"}`),
        'INVALID_ARGUMENT',
        /larger than/,
      );
    });

    it('and leaves no state behind when it refuses', async () => {
      const before = new Map(s.ledger.state);
      await expectRefusal(open('s', '{"default":{"lower":5,"upper":4}}'), 'INVALID_ARGUMENT');
      expect(s.ledger.state).to.deep.equal(before);
    });
  });
});

describe('GetSlot and ListSlots', () => {
  let s: Scenario;

  beforeEach(async () => {
    s = await Scenario.create();
  });

  it('GetSlot answers any channel member and refuses outsiders, unknown and malformed slots', async () => {
    await s.openSlot('slot-1');
    for (const who of [
      identities.dso(),
      identities.relay(),
      identities.auditor(),
      identities.meter(UTILITY_B),
    ]) {
      expect((await s.getSlot('slot-1', who)).slotId).to.equal('slot-1');
    }
    await expectRefusal(s.getSlot('slot-1', identities.outsider()), 'FORBIDDEN', /members/);
    await expectRefusal(s.getSlot('slot-2'), 'NOT_FOUND', /slot slot-2 does not exist/);
    await expectRefusal(s.getSlot('bad id'), 'INVALID_ARGUMENT');
  });

  it('ListSlots pages through slots with a bookmark', async () => {
    for (const id of ['s-1', 's-2', 's-3']) {
      await s.openSlot(id);
    }
    const list = (
      size: string,
      bookmark: string,
    ): Promise<{ slots: { slotId: string; status: string }[]; bookmark: string }> =>
      s.ledger
        .evaluate(identities.auditor(), (ctx) => s.timeslot.ListSlots(ctx, size, bookmark))
        .then(
          (text) => JSON.parse(text) as { slots: { slotId: string; status: string }[]; bookmark: string },
        );
    const first = await list('2', '');
    expect(first.slots.map((slot) => slot.slotId)).to.deep.equal(['s-1', 's-2']);
    expect(first.slots[0]?.status).to.equal('OPEN');
    const second = await list('2', first.bookmark);
    expect(second.slots.map((slot) => slot.slotId)).to.deep.equal(['s-3']);
    expect(second.bookmark).to.equal('');
  });

  it('ListSlots refuses bad page sizes, oversized bookmarks and outsiders', async () => {
    const list = (size: string, bookmark = '', who = identities.auditor()): Promise<string> =>
      s.ledger.evaluate(who, (ctx) => s.timeslot.ListSlots(ctx, size, bookmark));
    for (const bad of ['0', '101', '-1', '1.5', 'ten', '', '1e2']) {
      await expectRefusal(list(bad), 'INVALID_ARGUMENT', /pageSize/);
    }
    await expectRefusal(list('10', 'x'.repeat(1025)), 'INVALID_ARGUMENT', /bookmark/);
    await expectRefusal(list('10', '', identities.outsider()), 'FORBIDDEN');
  });

  it('ListSlots and ListWindows answer an empty page when there is nothing to list (no page metadata)', async () => {
    const fresh = await Scenario.create();
    expect(
      JSON.parse(
        await fresh.ledger.evaluate(identities.auditor(), (ctx) => fresh.timeslot.ListSlots(ctx, '1', '')),
      ),
    ).to.deep.equal({ slots: [], fetched: 0, bookmark: '' });
    expect(
      JSON.parse(
        await fresh.ledger.evaluate(identities.auditor(), (ctx) =>
          new AuctionContract().ListWindows(ctx, '1', ''),
        ),
      ),
    ).to.deep.equal({ windows: [], fetched: 0, bookmark: '' });
  });

  it('ListSlots refuses every bookmark it did not hand out, reading no record of another type', async () => {
    await s.openSlot('s-b1');
    await s.openSlot('s-b2');
    const list = (bookmark: string): Promise<string> =>
      s.ledger.evaluate(identities.auditor(), (ctx) => s.timeslot.ListSlots(ctx, '1', bookmark));
    const handedOut = (JSON.parse(await list('')) as { bookmark: string }).bookmark;
    expect(handedOut).to.not.equal('');
    await list(handedOut);
    const [, slotType] = handedOut.split('\u0000');
    for (const bad of [
      '\u0000',
      'x',
      '\u0000hems.window\u0000w-1\u0000', // a key of another record type
      `\u0000${slotType ?? ''}\u0000s-zzz\u0000`, // in range, but no such record
      `\u0000${slotType ?? ''}\u0001`, // past the listing's range
      '\u0000hems.settings\u0000',
      `${handedOut}\uFFFD`,
    ]) {
      const refused = await expectRefusal(
        list(bad),
        'INVALID_ARGUMENT',
        /bookmark is not one this listing handed out/,
      );
      expect(refused.message).to.not.include(bad);
    }
  });
});

describe('OpenSlot with a delivery schedule (time-of-use period)', () => {
  let s: Scenario;
  const openWith = (slotId: string, schedule: unknown): Promise<string> =>
    s.ledger.invoke(identities.dso(), (ctx) =>
      s.timeslot.OpenSlot(
        ctx,
        slotId,
        new Date(s.ledger.now.getTime() + 15 * MINUTE).toISOString(),
        DEFAULT_PRICES,
        typeof schedule === 'string' ? schedule : JSON.stringify(schedule),
      ),
    );
  const peak = {
    deliveryStart: '2026-11-23T17:00:00+00:00',
    deliveryEnd: '2026-11-23T17:15:00Z',
    period: 'peak',
  };

  beforeEach(async () => {
    s = await Scenario.create();
  });

  it('keeps the schedule, in UTC, in the slot record and the SlotOpened event', async () => {
    const slot = JSON.parse(await openWith('tou-1', peak)) as Record<string, unknown>;
    const expected = {
      deliveryStart: '2026-11-23T17:00:00.000Z',
      deliveryEnd: '2026-11-23T17:15:00.000Z',
      period: 'peak',
    };
    expect(slot.schedule).to.deep.equal(expected);
    expect((await s.getSlot('tou-1')).schedule).to.deep.equal(expected);
    const event = JSON.parse(s.ledger.lastCommitted().events[0]?.payload ?? '{}') as Record<string, unknown>;
    expect(event.schedule).to.deep.equal(expected);
  });

  it('refuses a schedule off the quarter hours, reversed, longer than a day, of an unknown period or with other members', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...peak, deliveryStart: '2026-11-23T17:05:00Z' }, /quarter hour/],
      [{ ...peak, deliveryEnd: '2026-11-23T16:45:00Z' }, /after schedule.deliveryStart/],
      [{ ...peak, deliveryEnd: '2026-11-24T17:15:00Z' }, /at most 24 hours/],
      [{ ...peak, period: 'shoulder' }, /peak, mid-peak, off-peak/],
      [{ ...peak, tariff: 'x' }, /tariff/],
      [{ ...peak, deliveryStart: 'noon' }, /RFC 3339/],
      ['{', /schedule/],
    ];
    for (const [schedule, pattern] of cases) {
      await expectRefusal(openWith('tou-bad', schedule), 'INVALID_ARGUMENT', pattern);
    }
    await expectRefusal(s.getSlot('tou-bad'), 'NOT_FOUND');
  });
});
