import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { identities, type InvokeOptions } from './support/fake-ledger';
import { createCa, freshNonce, issueDevice, signForecast, signPayload, type TestDevice } from './support/pki';
import { MINUTE, Scenario, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

describe('SubmitForecast', () => {
  let s: Scenario;
  let device: TestDevice;
  const slotId = 'slot-1';
  const collectionA = `${UTILITY_A}PrivateCollection`;

  /** Submits raw transient fields as UtilityA's relay. */
  const submitRaw = (
    transient: Record<string, Uint8Array | string>,
    arg = slotId,
    options = {},
  ): Promise<string> =>
    s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.SubmitForecast(ctx, arg), {
      transient,
      ...options,
    });
  const submitPayloadText = (text: string, by: TestDevice = device): Promise<string> =>
    submitRaw({ ...signPayload(by, Buffer.from(text)) });

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    device = await s.device(UTILITY_A, 'bus-1');
  });

  it('stores the range in the utility collection under an HMAC home reference and answers a receipt without it', async () => {
    const receipt = JSON.parse(
      await s.submit(UTILITY_A, device, { slotId, lower: 1.5, upper: 2.25 }),
    ) as Record<string, unknown>;
    expect(Object.keys(receipt).sort()).to.deep.equal(['acceptedAt', 'slotId', 'txId']);
    const tx = s.ledger.committed.at(-1);
    expect(tx?.publicWrites).to.deep.equal([]);
    expect(tx?.events).to.deep.equal([]);
    expect(tx?.privateKeys.map((k) => k.collection)).to.deep.equal([collectionA, collectionA]);
    // A batch of one: the batch record (under the transaction id, never a home) and its root.
    const stored = [...s.ledger.collection(collectionA).entries()].filter(([key]) =>
      key.includes('hems.forecastbatch'),
    );
    expect(stored).to.have.length(1);
    const [key, value] = stored[0] ?? ['', Buffer.alloc(0)];
    expect(key).to.include(String(receipt.txId)).and.not.include(device.homeId);
    const batch = JSON.parse(value.toString()) as { items: Record<string, unknown>[] };
    expect(batch.items).to.have.length(1);
    expect(batch.items[0]).to.include({
      ref: await s.homeRef(UTILITY_A, device, slotId),
      bus: 'bus-1',
      lower: 1.5,
      upper: 2.25,
    });
  });

  it('accepts a WebCrypto (IEEE P1363) signature and base64url nonces', async () => {
    const nonce = randomBytes(24).toString('base64url');
    const signed = signForecast(device, { slotId, lower: 0, upper: 0, nonce }, 'ieee-p1363');
    expect(signed.signature).to.have.length(64);
    await submitRaw({ ...signed });
  });

  /** The forecast in effect of the device, as its utility's peer resolves it. */
  const inEffect = async (of: TestDevice = device): Promise<Record<string, unknown>> =>
    (
      await s.ledger.evaluateJson<{ forecast: Record<string, unknown> }>(
        identities.relay(UTILITY_A),
        (ctx) => s.timeslot.GetForecastProof(ctx, slotId),
        { transient: { certificate: of.pem } },
      )
    ).forecast;

  it('replaces an earlier submission of the same home before the deadline', async () => {
    await s.submit(UTILITY_A, device, { slotId, lower: 1, upper: 2 });
    await s.submit(UTILITY_A, device, { slotId, lower: 3, upper: 4 });
    expect(await inEffect()).to.include({ lower: 3, upper: 4 });
  });

  it('accepts values at the bounds: 0 and the per-home maximum', async () => {
    await s.submit(UTILITY_A, device, { slotId, lower: 0, upper: 50 });
  });

  describe('refuses callers', () => {
    it('that are not a utility relay', async () => {
      for (const who of [
        identities.dso(),
        identities.auditor(),
        identities.meter(UTILITY_A),
        identities.admin(UTILITY_A),
        identities.outsider(),
      ]) {
        await expectRefusal(
          s.submit(UTILITY_A, device, { slotId, lower: 1, upper: 2 }, { relay: who, peer: UTILITY_A }),
          'FORBIDDEN',
          /relay/,
        );
      }
    });

    it("endorsed on another org's peer", async () => {
      await expectRefusal(
        s.submit(UTILITY_A, device, { slotId, lower: 1, upper: 2 }, { peer: UTILITY_B }),
        'FORBIDDEN',
        /peer of the caller's own organization/,
      );
    });

    it("relaying another utility's device (foreign CA)", async () => {
      await expectRefusal(
        s.submit(UTILITY_B, device, { slotId, lower: 1, upper: 2 }),
        'FORBIDDEN',
        /not issued by a CA registered for UtilityBMSP/,
      );
    });
  });

  describe('refuses devices', () => {
    it('whose certificate comes from an unregistered CA', async () => {
      const rogue = await issueDevice(await createCa('RogueOrg'), { homeId: 'home-x', bus: 'bus-1' });
      await expectRefusal(
        s.submit(UTILITY_A, rogue, { slotId, lower: 1, upper: 2 }),
        'FORBIDDEN',
        /not issued by a CA/,
      );
    });

    it('that are revoked', async () => {
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.RevokeDeviceCertificate(ctx, device.serial, 'key compromise'),
      );
      await expectRefusal(
        s.submit(UTILITY_A, device, { slotId, lower: 1, upper: 2 }),
        'FORBIDDEN',
        /revoked/,
      );
    });

    it('that are expired or not yet valid at the transaction time', async () => {
      const expired = await s.device(UTILITY_A, 'bus-1', {
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2026-06-01T00:00:00Z'),
      });
      await expectRefusal(
        s.submit(UTILITY_A, expired, { slotId, lower: 1, upper: 2 }),
        'FORBIDDEN',
        /expired or not yet valid/,
      );
      const future = await s.device(UTILITY_A, 'bus-1', { notBefore: new Date('2026-12-01T00:00:00Z') });
      await expectRefusal(
        s.submit(UTILITY_A, future, { slotId, lower: 1, upper: 2 }),
        'FORBIDDEN',
        /expired or not yet valid/,
      );
    });

    it('without hems.role=hems, hems.home or hems.bus, or with malformed attributes', async () => {
      const cases: [Partial<Parameters<Scenario['device']>[2]>, string, RegExp][] = [
        [{ role: null }, 'FORBIDDEN', /hems.role=hems/],
        [{ role: 'relay' }, 'FORBIDDEN', /hems.role=hems/],
        [{ attrs: { 'hems.home': '' } }, 'INVALID_ARGUMENT', /hems.home attribute is malformed/],
        [{ attrs: { 'hems.home': 'home 1; DROP' } }, 'INVALID_ARGUMENT', /hems.home attribute is malformed/],
        [{ attrs: { 'hems.bus': 'bus/1' } }, 'INVALID_ARGUMENT', /hems.bus attribute must be/],
        [{ omit: ['hems.home'] }, 'FORBIDDEN', /hems.home and hems.bus/],
        [{ omit: ['hems.bus'] }, 'FORBIDDEN', /hems.home and hems.bus/],
      ];
      for (const [options, code, pattern] of cases) {
        const bad = await s.device(UTILITY_A, 'bus-1', options);
        await expectRefusal(s.submit(UTILITY_A, bad, { slotId, lower: 1, upper: 2 }), code, pattern);
      }
    });

    it('with a key that is not ECDSA P-256', async () => {
      const p384 = await s.device(UTILITY_A, 'bus-1', { p384: true });
      await expectRefusal(
        s.submit(UTILITY_A, p384, { slotId, lower: 1, upper: 2 }),
        'INVALID_ARGUMENT',
        /P-256/,
      );
    });

    it('with a signature that does not verify: tampered payload, another key, garbage', async () => {
      const signed = signForecast(device, { slotId, lower: 1, upper: 2 });
      const tampered = Buffer.from(signed.payload.toString().replace('"upper":2', '"upper":9'));
      const other = await s.device(UTILITY_A, 'bus-1');
      const byOther = signForecast(other, { slotId, lower: 1, upper: 2 });
      const forged: Record<string, Uint8Array | string>[] = [
        { ...signed, payload: tampered },
        { ...byOther, certificate: device.pem },
        { ...signed, signature: randomBytes(70) },
        { ...signed, signature: randomBytes(64) },
        { ...signed, signature: randomBytes(200) },
      ];
      for (const transient of forged) {
        await expectRefusal(submitRaw(transient), 'FORBIDDEN', /signature does not verify/);
      }
    });

    it('with a certificate that is not a certificate or is oversized', async () => {
      const signed = signForecast(device, { slotId, lower: 1, upper: 2 });
      await expectRefusal(
        submitRaw({ ...signed, certificate: 'hello' }),
        'INVALID_ARGUMENT',
        /not a valid PEM X.509/,
      );
      await expectRefusal(
        submitRaw({ ...signed, certificate: 'x'.repeat(9000) }),
        'INVALID_ARGUMENT',
        /larger than 8192/,
      );
    });
  });

  describe('refuses payloads', () => {
    it('with missing or oversized transient fields', async () => {
      const signed = signForecast(device, { slotId, lower: 1, upper: 2 });
      for (const field of ['payload', 'signature', 'certificate'] as const) {
        const transient: Record<string, Uint8Array | string> = { ...signed };
        delete transient[field];
        await expectRefusal(
          submitRaw(transient),
          'INVALID_ARGUMENT',
          new RegExp(`transient field '${field}' is required`),
        );
      }
      await expectRefusal(
        submitRaw({ ...signed, payload: Buffer.alloc(0) }),
        'INVALID_ARGUMENT',
        /'payload' is required/,
      );
      await expectRefusal(
        submitRaw({ ...signed, payload: Buffer.alloc(2000, 32) }),
        'INVALID_ARGUMENT',
        /larger than 1024/,
      );
      await expectRefusal(
        submitRaw({ ...signed, signature: Buffer.alloc(300, 1) }),
        'INVALID_ARGUMENT',
        /larger than 256/,
      );
    });

    it('with hostile numbers: NaN, Infinity, negative, strings, huge, lower > upper, too many decimals, above the maximum', async () => {
      const nonce = (): string => freshNonce();
      const cases: [string, RegExp][] = [
        [`{"slotId":"${slotId}","lower":NaN,"upper":2,"nonce":"${nonce()}"}`, /payload is not valid JSON/],
        [
          `{"slotId":"${slotId}","lower":1,"upper":Infinity,"nonce":"${nonce()}"}`,
          /payload is not valid JSON/,
        ],
        [
          `{"slotId":"${slotId}","lower":1,"upper":1e999,"nonce":"${nonce()}"}`,
          /payload.upper must be a finite number/,
        ],
        [
          `{"slotId":"${slotId}","lower":-1e999,"upper":1,"nonce":"${nonce()}"}`,
          /payload.lower must be a finite number/,
        ],
        [
          `{"slotId":"${slotId}","lower":-0.001,"upper":2,"nonce":"${nonce()}"}`,
          /payload.lower must be between 0 and 50/,
        ],
        [
          `{"slotId":"${slotId}","lower":"1","upper":2,"nonce":"${nonce()}"}`,
          /payload.lower must be a number/,
        ],
        [
          `{"slotId":"${slotId}","lower":1,"upper":null,"nonce":"${nonce()}"}`,
          /payload.upper must be a number/,
        ],
        [
          `{"slotId":"${slotId}","lower":1,"upper":[2],"nonce":"${nonce()}"}`,
          /payload.upper must be a number/,
        ],
        [
          `{"slotId":"${slotId}","lower":1,"upper":1e308,"nonce":"${nonce()}"}`,
          /payload.upper must be between 0 and 50/,
        ],
        [
          `{"slotId":"${slotId}","lower":1,"upper":50.001,"nonce":"${nonce()}"}`,
          /payload.upper must be between 0 and 50/,
        ],
        [
          `{"slotId":"${slotId}","lower":3,"upper":2,"nonce":"${nonce()}"}`,
          /payload.lower must not exceed payload.upper/,
        ],
        [`{"slotId":"${slotId}","lower":1.0001,"upper":2,"nonce":"${nonce()}"}`, /at most 3 decimal places/],
        [`{"slotId":"${slotId}","lower":1,"upper":2}`, /nonce must be a string/],
        [
          `{"slotId":"${slotId}","lower":1,"upper":2,"nonce":"${randomBytes(8).toString('base64')}"}`,
          /nonce must decode to 16-64/,
        ],
        [`{"slotId":"${slotId}","lower":1,"upper":2,"nonce":"not base64!!"}`, /nonce must be base64/],
        [
          `{"slotId":"${slotId}","lower":1,"upper":2,"nonce":"${nonce()}","home":"x"}`,
          /unknown field\(s\): home/,
        ],
        [`{"slotId":"bad slot","lower":1,"upper":2,"nonce":"${nonce()}"}`, /payload.slotId must be/],
        [`[1,2]`, /payload must be a JSON object/],
        [`"text"`, /payload must be a JSON object/],
      ];
      for (const [text, pattern] of cases) {
        await expectRefusal(submitPayloadText(text), 'INVALID_ARGUMENT', pattern);
      }
    });

    it('signed for another slot than the one submitted', async () => {
      await s.openSlot('slot-2');
      await expectRefusal(
        s.submit(UTILITY_A, device, { slotId: 'slot-2', lower: 1, upper: 2 }, { argSlotId: slotId }),
        'INVALID_ARGUMENT',
        /payload.slotId does not match/,
      );
    });

    it('replayed: the same signed payload (same nonce) never counts again, nor rolls a newer one back', async () => {
      // Refusing a replay here would take a read per item; the relay refuses the ones it knows,
      // and whatever reaches the ledger is ignored wherever forecasts are resolved.
      const older = signForecast(device, { slotId, lower: 5, upper: 6 });
      await submitRaw({ ...older });
      await s.submit(UTILITY_A, device, { slotId, lower: 7, upper: 8 });
      await submitRaw({ ...older });
      expect(await inEffect()).to.include({ lower: 7, upper: 8 });
      s.ledger.advance(15 * MINUTE);
      const aggregate = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-1')) as Record<
        string,
        unknown
      >;
      expect(aggregate).to.include({ homes: 1 });
    });
  });

  describe('refuses by slot state', () => {
    /** A forecast of 1-2 kW of `from` for the slot, refused as FAILED_PRECONDITION. */
    const expectClosed = (from: TestDevice, pattern?: RegExp, options: InvokeOptions = {}): Promise<Error> =>
      expectRefusal(
        s.submit(UTILITY_A, from, { slotId, lower: 1, upper: 2 }, options),
        'FAILED_PRECONDITION',
        pattern,
      );

    it('an unknown slot and a malformed slot id', async () => {
      await expectRefusal(s.submit(UTILITY_A, device, { slotId: 'slot-9', lower: 1, upper: 2 }), 'NOT_FOUND');
      await expectRefusal(
        submitRaw({ ...signForecast(device, { slotId, lower: 1, upper: 2 }) }, 'x y'),
        'INVALID_ARGUMENT',
      );
    });

    it('a late submission: at or after the deadline', async () => {
      s.ledger.advance(15 * MINUTE);
      await expectClosed(device, /closed for forecasts/);
    });

    it('a device on a bus without enrolled homes of its utility in this slot', async () => {
      const stray = await s.device(UTILITY_A, 'bus-7');
      await expectClosed(stray, /no enrolled homes/);
    });

    it('a bus whose aggregate is already published (every enrolled home submitted)', async () => {
      await s.submitMany(
        slotId,
        UTILITY_A,
        'bus-1',
        Array.from({ length: 5 }, () => [1, 2] as const),
      );
      await s.publishAggregate(slotId, UTILITY_A, 'bus-1');
      const late = await s.device(UTILITY_A, 'bus-1');
      await expectClosed(late, /window is closed/);
    });

    it('a dispatched slot', async () => {
      s.ledger.advance(15 * MINUTE);
      await s.dispatch(slotId, '0.5');
      await expectClosed(device, undefined, { at: new Date('2026-11-21T10:05:00Z') });
    });
  });

  describe('refuses when the utility is not set up', () => {
    it('without registered CA certificates or home-reference secret', async () => {
      // Each set-up step undone on a fresh channel, with the refusal that names the missing step.
      const undone: [(t: Scenario) => void, RegExp][] = [
        [
          (t) => {
            for (const key of [...t.ledger.state.keys()].filter((k) => k.includes('hems.orgca'))) {
              t.ledger.state.delete(key);
            }
          },
          /RegisterOrgCAs/,
        ],
        [(t) => t.ledger.collection(collectionA).clear(), /SetHomeRefSecret/],
      ];
      for (const [undo, pattern] of undone) {
        const fresh = await Scenario.create();
        undo(fresh);
        await fresh.openSlot(slotId);
        const home = await fresh.device(UTILITY_A, 'bus-1');
        await expectRefusal(
          fresh.submit(UTILITY_A, home, { slotId, lower: 1, upper: 2 }),
          'FAILED_PRECONDITION',
          pattern,
        );
      }
    });
  });

  it('leaves no private or public state behind when it refuses', async () => {
    const before = new Map(s.ledger.collection(collectionA));
    await expectRefusal(
      submitPayloadText(`{"slotId":"${slotId}","lower":3,"upper":2,"nonce":"${freshNonce()}"}`),
      'INVALID_ARGUMENT',
    );
    expect(s.ledger.collection(collectionA)).to.deep.equal(before);
  });
});
