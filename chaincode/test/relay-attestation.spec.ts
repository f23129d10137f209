import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { identities, type TestIdentity } from './support/fake-ledger';
import { createCa, freshNonce, issueDevice, signPayload, type TestDevice } from './support/pki';
import {
  type BatchReceiptView,
  expectRefusal,
  MINUTE,
  Scenario,
  UTILITY_A,
  UTILITY_B,
} from './support/scenario';

/**
 * Relay-attested items (OpenADR VENs hold no Fabric key): an entry {payload, attestation: "relay",
 * certificate} in a relay batch, accepted only for a utility the channel settings list in
 * relayAttestationMspIds (a majority's decision), its certificate still verified, stored with
 * `attested: true` and counted per bus in public from k homes on.
 */

const slotId = 'slot-r';
const DSO = 'DSOMSP';
const AUDITOR = 'RegulatorMSP';
const collectionOf = (org: string): string => `${org}PrivateCollection`;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

type Payload = Record<string, unknown>;
type Item = Record<string, unknown>;

const forecastPayload = (lower: number, upper: number, nonce = freshNonce(), slot = slotId): Payload => ({
  slotId: slot,
  lower,
  upper,
  nonce,
});
const reportPayload = (drawnKw: number, nonce = freshNonce()): Payload => ({ slotId, drawnKw, nonce });

/** A device-signed batch entry. */
function signedItem(device: TestDevice, payload: Payload): Item {
  const signed = signPayload(device, Buffer.from(JSON.stringify(payload)));
  return {
    payload: signed.payload.toString('base64'),
    signature: signed.signature.toString('base64'),
    certificate: signed.certificate,
  };
}

/** A relay-attested batch entry: the home's certificate, no signature. */
function attestedItem(device: TestDevice, payload: Payload): Item {
  return {
    payload: Buffer.from(JSON.stringify(payload)).toString('base64'),
    attestation: 'relay',
    certificate: device.pem,
  };
}

interface ReportReceiptView {
  readonly accepted: number;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

/** Test steps on one scenario: settings changes by majority, batches, publications. */
class Steps {
  private proposals = 0;

  constructor(readonly s: Scenario) {}

  propose(
    change: unknown,
    who: TestIdentity = identities.admin(UTILITY_A),
  ): Promise<Record<string, unknown>> {
    this.proposals += 1;
    const id = `attest-${this.proposals}`;
    return this.s.ledger
      .invoke(who, (ctx) => this.s.governance.ProposeSettings(ctx, id, JSON.stringify(change)))
      .then((text) => JSON.parse(text) as Record<string, unknown>);
  }

  approve(proposalId: string, org: string): Promise<Record<string, unknown>> {
    return this.s.ledger
      .invoke(identities.admin(org), (ctx) => this.s.governance.ApproveSettings(ctx, proposalId))
      .then((text) => JSON.parse(text) as Record<string, unknown>);
  }

  /** A change proposed by UtilityA and approved by UtilityB and the DSO: 3 of the 4 members. */
  async byMajority(change: unknown): Promise<void> {
    const proposal = await this.propose(change);
    await this.approve(String(proposal.proposalId), UTILITY_B);
    const applied = await this.approve(String(proposal.proposalId), DSO);
    expect(applied.status).to.equal('APPLIED');
  }

  async settings(): Promise<Record<string, unknown>> {
    return this.s.ledger.evaluateJson<Record<string, unknown>>(identities.auditor(), (ctx) =>
      this.s.governance.GetSettings(ctx),
    );
  }

  async submitForecasts(items: readonly Item[], org = UTILITY_A): Promise<BatchReceiptView> {
    return this.s.ledger.invokeJson<BatchReceiptView>(
      identities.relay(org),
      (ctx) => this.s.timeslot.SubmitForecasts(ctx, slotId),
      { peer: org, transient: { items: JSON.stringify(items) } },
    );
  }

  /** A consumption entry of the home's forecast in effect: `make` builds it, forecastBatch is added. */
  async reportEntry(
    org: string,
    device: TestDevice,
    make: (device: TestDevice, payload: Payload) => Item,
    drawnKw: number,
  ): Promise<Item> {
    return {
      ...make(device, reportPayload(drawnKw)),
      forecastBatch: await this.s.forecastBatchOf(org, device, slotId),
    };
  }

  async reportConsumptions(items: readonly Item[], org = UTILITY_A): Promise<ReportReceiptView> {
    return this.s.ledger.invokeJson<ReportReceiptView>(
      identities.relay(org),
      (ctx) => this.s.timeslot.ReportConsumptions(ctx, slotId),
      { peer: org, transient: { items: JSON.stringify(items) } },
    );
  }

  async publishConsumption(org: string, bus: string): Promise<Record<string, unknown>> {
    const listed = await this.s.ledger.evaluateJson<{ refs: string[] }>(
      identities.relay(org),
      (ctx) => this.s.timeslot.ListConsumptionRefs(ctx, slotId),
      { peer: org },
    );
    return this.s.ledger.invokeJson<Record<string, unknown>>(
      identities.relay(org),
      (ctx) => this.s.timeslot.PublishConsumption(ctx, slotId, bus),
      { peer: org, transient: { refs: JSON.stringify(listed.refs) } },
    );
  }

  /** The items of the org's private forecast batch records, oldest batch first. */
  batchItems(org = UTILITY_A): Record<string, unknown>[] {
    return [...this.s.ledger.collection(collectionOf(org)).entries()]
      .filter(([key]) => key.includes('hems.forecastbatch'))
      .map(([, value]) => JSON.parse(value.toString()) as { at: string; items: Record<string, unknown>[] })
      .sort((a, b) => a.at.localeCompare(b.at))
      .flatMap((record) => record.items);
  }

  storedReports(org = UTILITY_A): Record<string, unknown>[] {
    return [...this.s.ledger.collection(collectionOf(org)).entries()]
      .filter(([key]) => key.includes('hems.consumption'))
      .map(([, value]) => JSON.parse(value.toString()) as Record<string, unknown>);
  }
}

/** A kW value as it would be spelled in JSON, not as part of a longer number (13.375 holds 3.375). */
const spelling = (kw: number): RegExp => new RegExp(`(?<![0-9.])${String(kw).replace('.', '\\.')}(?![0-9])`);

let venCounter = 0;

/**
 * A home whose certificate the utility's CA issued for its OpenADR VEN (enrolment id oadr-…, the
 * gateway's naming): only such a certificate may carry a relay-attested item.
 */
function venDevice(
  scenario: Scenario,
  org: string,
  bus: string,
  options: Parameters<Scenario['device']>[2] = {},
): Promise<TestDevice> {
  venCounter += 1;
  return scenario.device(org, bus, {
    commonName: `oadr-ven-${String(venCounter).padStart(24, '0')}`,
    ...options,
  });
}

const FORBIDDEN_ATTESTATION = /channel settings do not let UtilityAMSP submit relay-attested items/;

describe('relay-attested items', () => {
  let s: Scenario;
  let steps: Steps;

  beforeEach(async () => {
    s = await Scenario.withSlot(slotId);
    steps = new Steps(s);
  });

  describe('the channel setting relayAttestationMspIds', () => {
    it('is empty by default: an attested item is refused FORBIDDEN alone, a signed item beside it is accepted', async () => {
      expect((await steps.settings()).relayAttestationMspIds).to.deep.equal([]);
      const [a, b] = await Promise.all([venDevice(s, UTILITY_A, 'bus-1'), venDevice(s, UTILITY_A, 'bus-1')]);
      const receipt = await steps.submitForecasts([
        signedItem(a, forecastPayload(1, 2)),
        attestedItem(b, forecastPayload(1, 3)),
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused).to.deep.equal([
        {
          index: 1,
          code: 'FORBIDDEN',
          message:
            'the channel settings do not let UtilityAMSP submit relay-attested items (relayAttestationMspIds)',
        },
      ]);
      expect(steps.batchItems().map((item) => [item.upper, item.attested])).to.deep.equal([[2, undefined]]);
    });

    it("one org's proposal alone does not enable attestation, nor two of four: only the majority's approval does", async () => {
      const devices = await Promise.all([0, 1, 2].map(() => venDevice(s, UTILITY_A, 'bus-1')));
      const attempt = async (device: TestDevice): Promise<BatchReceiptView> =>
        steps.submitForecasts([attestedItem(device, forecastPayload(0.5, 1))]);

      const proposal = await steps.propose({ relayAttestationMspIds: [UTILITY_A] });
      expect(proposal).to.include({ status: 'PENDING' });
      expect((await steps.settings()).relayAttestationMspIds).to.deep.equal([]);
      expect((await attempt(devices[0]!)).refused.map((r) => r.code)).to.deep.equal(['FORBIDDEN']);

      expect(await steps.approve(String(proposal.proposalId), UTILITY_B)).to.include({ status: 'PENDING' });
      expect((await steps.settings()).relayAttestationMspIds).to.deep.equal([]);
      expect((await attempt(devices[1]!)).refused.map((r) => r.code)).to.deep.equal(['FORBIDDEN']);

      expect(await steps.approve(String(proposal.proposalId), AUDITOR)).to.include({ status: 'APPLIED' });
      expect((await steps.settings()).relayAttestationMspIds).to.deep.equal([UTILITY_A]);
      const receipt = await attempt(devices[2]!);
      expect(receipt).to.include({ accepted: 1 });
      expect(receipt.refused).to.deep.equal([]);
      expect(steps.batchItems()).to.have.length(1);
    });

    it("listing another utility does not let this one attest; a majority can withdraw a utility's consent", async () => {
      await steps.byMajority({ relayAttestationMspIds: [UTILITY_B] });
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => venDevice(s, UTILITY_A, 'bus-1')));
      const refused = await steps.submitForecasts([
        attestedItem(a!, forecastPayload(1, 2)),
        signedItem(b!, forecastPayload(1, 2)),
      ]);
      expect(refused.accepted).to.equal(1);
      expect(refused.refused.map((r) => [r.index, r.code])).to.deep.equal([[0, 'FORBIDDEN']]);
      expect(refused.refused[0]?.message).to.match(FORBIDDEN_ATTESTATION);

      const bDevice = await venDevice(s, UTILITY_B, 'bus-1');
      expect(
        (await steps.submitForecasts([attestedItem(bDevice, forecastPayload(1, 2))], UTILITY_B)).accepted,
      ).to.equal(1);

      await steps.byMajority({ relayAttestationMspIds: [UTILITY_A] });
      expect((await steps.submitForecasts([attestedItem(c!, forecastPayload(1, 2))])).accepted).to.equal(1);
      await steps.byMajority({ relayAttestationMspIds: [] });
      const withdrawn = await steps.submitForecasts([attestedItem(a!, forecastPayload(1, 2))]);
      expect(withdrawn.refused.map((r) => r.code)).to.deep.equal(['FORBIDDEN']);
      const other = await venDevice(s, UTILITY_B, 'bus-1');
      expect(
        (await steps.submitForecasts([attestedItem(other, forecastPayload(1, 2))], UTILITY_B)).refused.map(
          (r) => r.code,
        ),
      ).to.deep.equal(['FORBIDDEN']);
    });

    it('refuses a change naming a non-utility, and a change of the utilities that would drop a listed one', async () => {
      for (const org of [DSO, AUDITOR, 'MalloryMSP', 'UtilityCMSP']) {
        await expectRefusal(
          steps.propose({ relayAttestationMspIds: [org] }),
          'INVALID_ARGUMENT',
          /only a utility MSP may submit relay-attested items/,
        );
      }
      await expectRefusal(
        steps.propose({ relayAttestationMspIds: [UTILITY_A, UTILITY_A] }),
        'INVALID_ARGUMENT',
        /twice/,
      );
      await expectRefusal(
        steps.propose({ relayAttestationMspIds: 'UtilityAMSP' }),
        'INVALID_ARGUMENT',
        /relayAttestationMspIds/,
      );
      await steps.byMajority({ relayAttestationMspIds: [UTILITY_A] });
      await expectRefusal(
        steps.propose({ utilityMspIds: [UTILITY_B] }),
        'INVALID_ARGUMENT',
        /only a utility MSP may submit relay-attested items/,
      );
      // A new utility may be listed in the same change that adds it.
      expect(
        await steps.propose({
          utilityMspIds: [UTILITY_A, UTILITY_B, 'UtilityCMSP'],
          relayAttestationMspIds: [UTILITY_A, 'UtilityCMSP'],
        }),
      ).to.include({ status: 'PENDING' });
      expect((await steps.settings()).relayAttestationMspIds).to.deep.equal([UTILITY_A]);
    });
  });

  describe('forecasts (SubmitForecasts)', () => {
    beforeEach(async () => {
      await steps.byMajority({ relayAttestationMspIds: [UTILITY_A] });
    });

    it('stores an accepted attested item with attested: true beside signed items, which carry no marker', async () => {
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => venDevice(s, UTILITY_A, 'bus-1')));
      const receipt = await steps.submitForecasts([
        attestedItem(a!, forecastPayload(1, 2)),
        signedItem(b!, forecastPayload(2, 3)),
        attestedItem(c!, forecastPayload(0, 4)),
      ]);
      expect(receipt).to.include({ slotId, accepted: 3 });
      expect(receipt.refused).to.deep.equal([]);
      const tx = s.ledger.lastCommitted();
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.events).to.deep.equal([]);
      expect(tx.creatorRole).to.equal('relay');
      expect(tx.endorsement).to.equal('single');
      const items = steps.batchItems();
      expect(items.map((item) => [item.lower, item.upper, item.attested])).to.deep.equal([
        [1, 2, true],
        [2, 3, undefined],
        [0, 4, true],
      ]);
      expect(items[1]).to.not.have.property('attested');
      expect(items[0]?.ref).to.equal(await s.homeRef(UTILITY_A, a!, slotId));
      // The attested forecast is the home's forecast in effect, with its proof like any other.
      const proof = await s.ledger.evaluateJson<{ forecast: Record<string, unknown> }>(
        identities.relay(UTILITY_A),
        (ctx) => s.timeslot.GetForecastProof(ctx, slotId),
        { transient: { certificate: a!.pem } },
      );
      expect(proof.forecast).to.include({ lower: 1, upper: 2, bus: 'bus-1' });
    });

    it("refuses an attested item carrying a HEMS device's certificate: a device's items stay signed by the device", async () => {
      await steps.byMajority({ relayAttestationMspIds: [UTILITY_A] });
      const device = await s.device(UTILITY_A, 'bus-1');
      const receipt = await steps.submitForecasts([
        attestedItem(device, forecastPayload(1, 2)),
        signedItem(device, forecastPayload(1, 3)),
      ]);
      expect(receipt.refused.map((refusal) => [refusal.index, refusal.code])).to.deep.equal([
        [0, 'FORBIDDEN'],
      ]);
      expect(receipt.refused[0]?.message).to.match(/certificate of an OpenADR VEN home/);
      expect(steps.batchItems().map((item) => [item.upper, item.attested])).to.deep.equal([[3, undefined]]);
    });

    it("still verifies an attested item's certificate: revoked, another org's, expired, not a device's, not a certificate", async () => {
      const [good, revoked] = await Promise.all([
        venDevice(s, UTILITY_A, 'bus-1'),
        venDevice(s, UTILITY_A, 'bus-1'),
      ]);
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.RevokeDeviceCertificate(ctx, revoked.serial, 'lost'),
      );
      const foreign = await venDevice(s, UTILITY_B, 'bus-1');
      const expired = await venDevice(s, UTILITY_A, 'bus-1', {
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2026-01-01T00:00:00Z'),
      });
      const relayCert = await venDevice(s, UTILITY_A, 'bus-1', { role: 'relay' });
      const rogue = await issueDevice(await createCa(UTILITY_A), { homeId: 'home-rogue', bus: 'bus-1' });
      const receipt = await steps.submitForecasts([
        attestedItem(revoked, forecastPayload(1, 2)),
        attestedItem(foreign, forecastPayload(1, 2)),
        attestedItem(expired, forecastPayload(1, 2)),
        attestedItem(relayCert, forecastPayload(1, 2)),
        attestedItem(rogue, forecastPayload(1, 2)),
        { ...attestedItem(good, forecastPayload(1, 2)), certificate: 'not a certificate' },
        attestedItem(good, forecastPayload(1, 2)),
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused).to.deep.equal([
        { index: 0, code: 'FORBIDDEN', message: 'device certificate has been revoked' },
        {
          index: 1,
          code: 'FORBIDDEN',
          message: `device certificate was not issued by a CA registered for ${UTILITY_A}`,
        },
        {
          index: 2,
          code: 'FORBIDDEN',
          message: 'device certificate is expired or not yet valid at the transaction time',
        },
        { index: 3, code: 'FORBIDDEN', message: 'device certificate does not carry hems.role=hems' },
        {
          index: 4,
          code: 'FORBIDDEN',
          message: `device certificate was not issued by a CA registered for ${UTILITY_A}`,
        },
        { index: 5, code: 'INVALID_ARGUMENT', message: receipt.refused[5]?.message ?? '' },
      ]);
      expect(receipt.refused[5]?.message).to.match(/certificate/);
      expect(steps.batchItems()).to.have.length(1);
    });

    it('refuses alone an attestation other than "relay", and an entry with both an attestation and a signature', async () => {
      const devices = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(() => venDevice(s, UTILITY_A, 'bus-1')));
      const [a, b, c, d, e, f, g, h] = devices as [
        TestDevice,
        TestDevice,
        TestDevice,
        TestDevice,
        TestDevice,
        TestDevice,
        TestDevice,
        TestDevice,
      ];
      const both = { ...signedItem(f, forecastPayload(1, 2)), attestation: 'relay' };
      const withoutCertificate = attestedItem(g, forecastPayload(1, 2));
      delete withoutCertificate.certificate;
      const receipt = await steps.submitForecasts([
        { ...attestedItem(a, forecastPayload(1, 2)), attestation: 'Relay' },
        { ...attestedItem(b, forecastPayload(1, 2)), attestation: 'device' },
        { ...attestedItem(c, forecastPayload(1, 2)), attestation: true },
        { ...attestedItem(d, forecastPayload(1, 2)), attestation: null },
        { ...attestedItem(e, forecastPayload(1, 2)), attestation: '' },
        both,
        withoutCertificate,
        signedItem(h, forecastPayload(1, 2)),
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused.map((r) => [r.index, r.code])).to.deep.equal([
        [0, 'INVALID_ARGUMENT'],
        [1, 'INVALID_ARGUMENT'],
        [2, 'INVALID_ARGUMENT'],
        [3, 'INVALID_ARGUMENT'],
        [4, 'INVALID_ARGUMENT'],
        [5, 'INVALID_ARGUMENT'],
        [6, 'INVALID_ARGUMENT'],
      ]);
      for (const index of [0, 1, 2, 3, 4]) {
        expect(receipt.refused[index]?.message).to.equal(`items[${index}].attestation must be "relay"`);
      }
      expect(receipt.refused[5]?.message).to.match(/items\[5\] has unknown field\(s\): signature/);
      expect(receipt.refused[6]?.message).to.match(/items\[6\]\.certificate must be a string/);
      expect(steps.batchItems().map((item) => item.attested)).to.deep.equal([undefined]);
    });

    it("checks an attested item's payload like a signed one's: range, maximum, slot, nonce, one item per home", async () => {
      const [a, b, c, d, e] = await Promise.all([0, 1, 2, 3, 4].map(() => venDevice(s, UTILITY_A, 'bus-1')));
      const nonce = freshNonce();
      const receipt = await steps.submitForecasts([
        attestedItem(a!, forecastPayload(3, 1)),
        attestedItem(b!, forecastPayload(1, 99)),
        attestedItem(c!, forecastPayload(1, 2, freshNonce(), 'slot-other')),
        attestedItem(d!, forecastPayload(1, 2, nonce)),
        attestedItem(e!, forecastPayload(1, 2, nonce)),
        attestedItem(d!, forecastPayload(2, 3)),
        { ...attestedItem(e!, forecastPayload(1, 2)), payload: '' },
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused.map((r) => [r.index, r.code])).to.deep.equal([
        [0, 'INVALID_ARGUMENT'],
        [1, 'INVALID_ARGUMENT'],
        [2, 'INVALID_ARGUMENT'],
        [4, 'CONFLICT'],
        [5, 'CONFLICT'],
        [6, 'INVALID_ARGUMENT'],
      ]);
    });

    it('the single-item SubmitForecast and ReportConsumption still need a device signature', async () => {
      const device = await venDevice(s, UTILITY_A, 'bus-1');
      const payload = Buffer.from(JSON.stringify(forecastPayload(1, 2)));
      const unsigned = { payload, certificate: device.pem, attestation: 'relay' };
      await expectRefusal(
        s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.SubmitForecast(ctx, slotId), {
          transient: unsigned,
        }),
        'INVALID_ARGUMENT',
        /'signature' is required/,
      );
      await expectRefusal(
        s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.SubmitForecast(ctx, slotId), {
          transient: { ...unsigned, signature: Buffer.from('relay') },
        }),
        'FORBIDDEN',
        /forecast signature does not verify/,
      );
      await s.submit(UTILITY_A, device, { slotId, lower: 1, upper: 2 });
      s.ledger.advance(15 * MINUTE);
      await s.dispatch(slotId, '0.5');
      await expectRefusal(
        s.ledger.invoke(identities.relay(UTILITY_A), (ctx) => s.timeslot.ReportConsumption(ctx, slotId), {
          transient: {
            payload: Buffer.from(JSON.stringify(reportPayload(1))),
            certificate: device.pem,
            attestation: 'relay',
            forecastBatch: await s.forecastBatchOf(UTILITY_A, device, slotId),
          },
        }),
        'INVALID_ARGUMENT',
        /'signature' is required/,
      );
      expect(steps.storedReports()).to.deep.equal([]);
    });
  });

  describe('consumption reports (ReportConsumptions)', () => {
    let devices: TestDevice[];

    beforeEach(async () => {
      devices = await Promise.all([0, 1, 2, 3].map(() => venDevice(s, UTILITY_A, 'bus-1')));
      await s.submitBatch(
        UTILITY_A,
        devices.map((device) => ({ device, forecast: { slotId, lower: 1, upper: 2 } })),
      );
      s.ledger.advance(15 * MINUTE);
      await s.dispatch(slotId, '0.5');
    });

    it('refuses an attested report FORBIDDEN alone while the setting does not list the utility', async () => {
      const [a, b] = devices as [TestDevice, TestDevice];
      const receipt = await steps.reportConsumptions([
        await steps.reportEntry(UTILITY_A, a, attestedItem, 1.5),
        await steps.reportEntry(UTILITY_A, b, signedItem, 1.25),
      ]);
      expect(receipt.accepted).to.equal(1);
      expect(receipt.refused.map((r) => [r.index, r.code])).to.deep.equal([[0, 'FORBIDDEN']]);
      expect(receipt.refused[0]?.message).to.match(FORBIDDEN_ATTESTATION);
      expect(steps.storedReports().map((r) => [r.drawnKw, r.attested])).to.deep.equal([[1.25, undefined]]);
    });

    it('stores an attested report with attested: true once a majority listed the utility; its certificate is still checked', async () => {
      await steps.byMajority({ relayAttestationMspIds: [UTILITY_A] });
      const [a, b, c, d] = devices as [TestDevice, TestDevice, TestDevice, TestDevice];
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.RevokeDeviceCertificate(ctx, c.serial, 'lost'),
      );
      const receipt = await steps.reportConsumptions([
        await steps.reportEntry(UTILITY_A, a, attestedItem, 1.5),
        await steps.reportEntry(UTILITY_A, b, signedItem, 1.25),
        await steps.reportEntry(UTILITY_A, c, attestedItem, 0.75),
        { ...(await steps.reportEntry(UTILITY_A, d, attestedItem, 0.5)), attestation: 'hems' },
        { ...(await steps.reportEntry(UTILITY_A, d, signedItem, 0.5)), attestation: 'relay' },
      ]);
      expect(receipt.accepted).to.equal(2);
      expect(receipt.refused).to.deep.equal([
        { index: 2, code: 'FORBIDDEN', message: 'device certificate has been revoked' },
        { index: 3, code: 'INVALID_ARGUMENT', message: 'items[3].attestation must be "relay"' },
        { index: 4, code: 'INVALID_ARGUMENT', message: receipt.refused[2]?.message ?? '' },
      ]);
      expect(receipt.refused[2]?.message).to.match(/items\[4\] has unknown field\(s\): signature/);
      const stored = steps.storedReports().sort((x, y) => Number(x.drawnKw) - Number(y.drawnKw));
      expect(stored.map((r) => [r.drawnKw, r.attested])).to.deep.equal([
        [1.25, undefined],
        [1.5, true],
      ]);
      expect(stored[0]).to.not.have.property('attested');
      const tx = s.ledger.lastCommitted();
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.events).to.deep.equal([]);
    });
  });
});

/**
 * A full slot with UtilityA allowed to attest: A's bus-1 group of 5 (3 attested forecasts in
 * effect), A's bus-2 group of 2 (withheld below k = 5; one attested), B's bus-1 group of 5 (B may
 * not attest: its attested item is refused), then consumption reports (2 attested on A's bus-1).
 */
describe('relay-attested counts in public, and what stays private', () => {
  let s: Scenario;
  let steps: Steps;
  const published: Record<string, Record<string, unknown>> = {};
  const consumption: Record<string, Record<string, unknown>> = {};
  let secrets: string[];
  let values: number[];
  let homeIds: string[];
  let bRefusal: BatchReceiptView;

  /** Individual values, each spelled so no sum or default value can equal it. */
  const A_BUS1: readonly (readonly [number, number])[] = [
    [1.125, 2.375],
    [0.625, 3.875],
    [2.125, 4.625],
    [0.375, 1.875],
    [3.125, 6.375],
  ];
  const A_BUS2: readonly (readonly [number, number])[] = [
    [4.875, 7.125],
    [1.375, 2.625],
  ];
  const B_BUS1: readonly (readonly [number, number])[] = [
    [0.875, 1.625],
    [1.625, 2.125],
    [2.375, 3.625],
    [0.125, 0.875],
    [3.375, 5.125],
  ];
  const DRAWN_A_BUS1 = [2.113, 3.217, 1.009, 1.771, 5.923];
  const DRAWN_A_BUS2 = 6.061;
  const DRAWN_B_BUS1 = [1.313, 2.027, 3.141, 0.717, 4.409];

  before(async () => {
    s = await Scenario.withSlot(slotId);
    steps = new Steps(s);
    await steps.byMajority({ relayAttestationMspIds: [UTILITY_A] });
    const aBus1 = await Promise.all(A_BUS1.map(() => venDevice(s, UTILITY_A, 'bus-1')));
    const aBus2 = await Promise.all(A_BUS2.map(() => venDevice(s, UTILITY_A, 'bus-2')));
    const bBus1 = await Promise.all(B_BUS1.map(() => venDevice(s, UTILITY_B, 'bus-1')));
    const nonces: string[] = [];
    const payload = (range: readonly [number, number] | undefined): Payload => {
      const nonce = freshNonce();
      nonces.push(nonce);
      return forecastPayload(range?.[0] ?? 0, range?.[1] ?? 0, nonce);
    };
    const [a0, a1, a2, a3, a4] = aBus1 as [TestDevice, TestDevice, TestDevice, TestDevice, TestDevice];

    // A: three attested and two signed at first; then a2's attested forecast is replaced by a signed
    // one and a4's signed one by an attested one: 3 attested forecasts in effect (a0, a1, a4).
    const first = await steps.submitForecasts([
      attestedItem(a0, payload(A_BUS1[0])),
      attestedItem(a1, payload(A_BUS1[1])),
      attestedItem(a2, payload([0.313, 9.687])),
      signedItem(a3, payload(A_BUS1[3])),
      signedItem(a4, payload([0.563, 8.437])),
      attestedItem(aBus2[0]!, payload(A_BUS2[0])),
      signedItem(aBus2[1]!, payload(A_BUS2[1])),
    ]);
    expect(first.accepted).to.equal(7);
    s.ledger.advance(1000);
    const second = await steps.submitForecasts([
      signedItem(a2, payload(A_BUS1[2])),
      attestedItem(a4, payload(A_BUS1[4])),
    ]);
    expect(second.accepted).to.equal(2);

    // B is not listed: its attested item is refused alone, its signed ones are accepted.
    const extra = await venDevice(s, UTILITY_B, 'bus-1');
    bRefusal = await steps.submitForecasts(
      [
        ...bBus1.map((device, index) => signedItem(device, payload(B_BUS1[index]))),
        attestedItem(extra, payload([2.938, 3.062])),
      ],
      UTILITY_B,
    );

    s.ledger.advance(15 * MINUTE);
    published.aBus1 = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-1')) as Record<
      string,
      unknown
    >;
    published.aBus2 = JSON.parse(await s.publishAggregate(slotId, UTILITY_A, 'bus-2')) as Record<
      string,
      unknown
    >;
    published.bBus1 = JSON.parse(await s.publishAggregate(slotId, UTILITY_B, 'bus-1')) as Record<
      string,
      unknown
    >;
    await s.dispatch(slotId, '0.5');

    const aReports = await steps.reportConsumptions([
      await steps.reportEntry(UTILITY_A, a0, attestedItem, DRAWN_A_BUS1[0]!),
      await steps.reportEntry(UTILITY_A, a1, signedItem, DRAWN_A_BUS1[1]!),
      await steps.reportEntry(UTILITY_A, a2, attestedItem, DRAWN_A_BUS1[2]!),
      await steps.reportEntry(UTILITY_A, a3, signedItem, DRAWN_A_BUS1[3]!),
      await steps.reportEntry(UTILITY_A, a4, signedItem, DRAWN_A_BUS1[4]!),
      await steps.reportEntry(UTILITY_A, aBus2[0]!, attestedItem, DRAWN_A_BUS2),
    ]);
    expect(aReports.accepted).to.equal(6);
    const bReports = await steps.reportConsumptions(
      await Promise.all(
        bBus1.map((device, index) => steps.reportEntry(UTILITY_B, device, signedItem, DRAWN_B_BUS1[index]!)),
      ),
      UTILITY_B,
    );
    expect(bReports.accepted).to.equal(5);
    consumption.aBus1 = await steps.publishConsumption(UTILITY_A, 'bus-1');
    consumption.aBus2 = await steps.publishConsumption(UTILITY_A, 'bus-2');
    consumption.bBus1 = await steps.publishConsumption(UTILITY_B, 'bus-1');

    values = [
      ...[...A_BUS1, ...A_BUS2, ...B_BUS1, [0.313, 9.687], [0.563, 8.437], [2.938, 3.062]].flat(),
      ...DRAWN_A_BUS1,
      DRAWN_A_BUS2,
      ...DRAWN_B_BUS1,
    ];
    homeIds = [...aBus1, ...aBus2, ...bBus1, extra].map((device) => device.homeId);
    secrets = [...nonces, ...homeIds];
  });

  it("B's attested item was refused alone: B is not listed", () => {
    expect(bRefusal.accepted).to.equal(5);
    expect(bRefusal.refused).to.deep.equal([
      {
        index: 5,
        code: 'FORBIDDEN',
        message: `the channel settings do not let ${UTILITY_B} submit relay-attested items (relayAttestationMspIds)`,
      },
    ]);
  });

  it('PublishAggregate publishes relayAttested, the attested forecasts in effect, from k homes on only', () => {
    expect(published.aBus1).to.include({
      homes: 5,
      withheld: false,
      relayAttested: 3,
      lower: 7.375,
      upper: 19.125,
    });
    expect(published.bBus1).to.include({ homes: 5, withheld: false, relayAttested: 0 });
    expect(published.aBus2).to.include({ homes: 2, withheld: true });
    expect(published.aBus2).to.not.have.any.keys('relayAttested', 'lower', 'upper');
    const aggregateEvents = s.ledger.committed
      .flatMap((tx) => tx.events)
      .filter((event) => event.name === 'AggregatePublished')
      .map((event) => JSON.parse(event.payload) as Record<string, unknown>);
    expect(aggregateEvents).to.have.length(3);
    expect(aggregateEvents.find((e) => e.org === UTILITY_A && e.bus === 'bus-1')).to.include({
      relayAttested: 3,
    });
    expect(aggregateEvents.find((e) => e.org === UTILITY_A && e.bus === 'bus-2')).to.not.have.property(
      'relayAttested',
    );
  });

  it("the slot's busTotals sum relayAttested over the summed groups, and the dispatch copies it", async () => {
    const slot = (await s.getSlot(slotId, identities.dso())) as {
      busTotals: Record<string, unknown>[];
      dispatch: { aggregates: Record<string, unknown>[] };
      aggregates: Record<string, unknown>[];
    };
    const bus1 = slot.busTotals.find((total) => total.bus === 'bus-1');
    const bus2 = slot.busTotals.find((total) => total.bus === 'bus-2');
    expect(bus1).to.include({ homes: 10, withheldHomes: 0, relayAttested: 3 });
    expect(bus2).to.include({ homes: 0, withheldHomes: 2, relayAttested: 0 });
    const copy = (org: string, bus: string): Record<string, unknown> | undefined =>
      slot.dispatch.aggregates.find((agg) => agg.org === org && agg.bus === bus);
    expect(copy(UTILITY_A, 'bus-1')).to.include({ relayAttested: 3 });
    expect(copy(UTILITY_B, 'bus-1')).to.include({ relayAttested: 0 });
    expect(copy(UTILITY_A, 'bus-2')).to.not.have.property('relayAttested');
    const view = slot.aggregates.find((agg) => agg.org === UTILITY_A && agg.bus === 'bus-1');
    expect(view).to.include({ relayAttested: 3 });
  });

  it('PublishConsumption counts the attested reports from k homes on; busTotals sum them', async () => {
    expect(consumption.aBus1?.consumption).to.include({ homes: 5, withheld: false, relayAttested: 2 });
    expect(consumption.bBus1?.consumption).to.include({ homes: 5, withheld: false, relayAttested: 0 });
    expect(consumption.aBus2?.consumption).to.include({ homes: 1, withheld: true });
    expect(consumption.aBus2?.consumption).to.not.have.any.keys('relayAttested', 'drawnKw', 'nonCompliant');
    const slot = (await s.getSlot(slotId)) as {
      busTotals: { bus: string; consumption: Record<string, unknown> }[];
    };
    expect(slot.busTotals.find((total) => total.bus === 'bus-1')?.consumption).to.include({
      homes: 10,
      relayAttested: 2,
    });
    expect(slot.busTotals.find((total) => total.bus === 'bus-2')?.consumption).to.include({
      homes: 0,
      withheldHomes: 1,
      relayAttested: 0,
    });
  });

  it('no forecast or consumption value, nonce or home id appears in public writes, events, responses, read sets or errors', () => {
    const surface = s.ledger.publicSurface();
    for (const secret of secrets) {
      expect(surface, `"${secret}" visible`).to.not.include(secret);
    }
    for (const kw of values) {
      expect(surface, `value ${kw} visible`).to.not.match(spelling(kw));
    }
    // The sums are public, the attested items among them only as a count.
    expect(surface).to.match(/relayAttested\\?":3/);
    expect(secrets.length).to.be.greaterThan(20);
    expect(values).to.have.length(41);
  });

  it('private keys name no home, and relay-attested data is written only by the relay, on its own peer', () => {
    const keys = s.ledger.committed.flatMap((tx) => tx.privateKeys.map((k) => k.key)).join('|');
    for (const homeId of homeIds) {
      expect(keys).to.not.include(homeId);
      expect(keys).to.not.include(sha256(homeId));
    }
    for (const tx of s.ledger.committed.filter((t) =>
      t.privateKeys.some((k) => /hems\.(forecastbatch|consumption)/.test(k.key)),
    )) {
      expect(tx.creatorRole).to.equal('relay');
      expect(tx.endorser).to.equal(tx.creator);
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.events).to.deep.equal([]);
    }
  });
});

/**
 * A utility running modified chaincode on its own peer can write anything under its own aggregate
 * key: a relay-attested count that cannot count some of the summed homes makes its record count as
 * not published, and the other utilities' counts go on.
 */
describe('a forged relayAttested count', () => {
  const forged = (values: Record<string, unknown>): string =>
    JSON.stringify({
      slotId,
      org: UTILITY_A,
      bus: 'bus-1',
      expectedHomes: 5,
      published: true,
      homes: 5,
      withheld: false,
      lower: 1,
      upper: 2,
      relayAttested: 1,
      publishedAt: '2026-11-21T10:00:00.000Z',
      publishTxId: 'f'.repeat(64),
      ...values,
    });
  const consumptionOf = (relayAttested: unknown): Record<string, unknown> => ({
    consumption: {
      homes: 5,
      withheld: false,
      drawnKw: 3,
      nonCompliant: 0,
      relayAttested,
      publishedAt: '2026-11-21T10:20:00.000Z',
      txId: 'e'.repeat(64),
    },
  });

  const busOne = async (s: Scenario): Promise<Record<string, unknown> | undefined> => {
    const view = (await s.getSlot(slotId)) as { busTotals: Record<string, unknown>[] };
    return view.busTotals.find((total) => total.bus === 'bus-1');
  };

  const setUp = async (): Promise<Scenario> => {
    const s = await Scenario.withSlot(slotId);
    const steps = new Steps(s);
    await steps.byMajority({ relayAttestationMspIds: [UTILITY_B] });
    const devices = await Promise.all([0, 1, 2, 3, 4].map(() => venDevice(s, UTILITY_B, 'bus-1')));
    await steps.submitForecasts(
      devices.map((device, index) =>
        index < 2 ? attestedItem(device, forecastPayload(1, 2)) : signedItem(device, forecastPayload(1, 2)),
      ),
      UTILITY_B,
    );
    await s.publishAggregate(slotId, UTILITY_B, 'bus-1');
    return s;
  };

  const forge = (s: Scenario, value: string): Promise<void> =>
    s.ledger.writeAlone(UTILITY_A, async (ctx) => {
      await ctx.stub.putState(ctx.keys.aggregate(slotId, UTILITY_A, 'bus-1'), Buffer.from(value));
    });

  for (const [what, value] of [
    ['more attested homes than homes', forged({ relayAttested: 6 })],
    ['a negative count', forged({ relayAttested: -1 })],
    ['a fractional count', forged({ relayAttested: 1.5 })],
    ['a count that is not a number', forged({ relayAttested: '3' })],
    ['a consumption summary counting more attested reports than reports', forged(consumptionOf(6))],
  ] as const) {
    it(`${what}: counts as not published; the other utility's count goes on`, async () => {
      const s = await setUp();
      await forge(s, value);
      expect(await busOne(s)).to.include({ homes: 5, relayAttested: 2, lower: 5, upper: 10 });
      expect((await busOne(s))?.pendingOrgs).to.deep.equal([UTILITY_A]);
    });
  }

  it('a count within the homes is summed like the sums it comes with', async () => {
    const s = await setUp();
    await forge(s, forged({ relayAttested: 5, ...consumptionOf(2) }));
    expect(await busOne(s)).to.include({ homes: 10, relayAttested: 7, lower: 6, upper: 12 });
  });
});
