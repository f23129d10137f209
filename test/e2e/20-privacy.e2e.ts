import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { canonicalJson, fabricAttributes } from '@hems/protocol';
import { Actors, UTILITIES, UTILITY_A, expectRefusal, forecastFor, uniqueSlotId } from './support/actors';
import { fetchBlocks, type FetchedBlock } from './support/blocks';
import { devicesOf, type Device, type SignedForecast } from '@hems/network-client';
import { E2E_STATE_DIR } from './support/network';
import { encodings } from './support/encodings';

function doubles(kw: number): Buffer[] {
  const le = Buffer.alloc(8);
  le.writeDoubleLE(kw);
  const be = Buffer.alloc(8);
  be.writeDoubleBE(kw);
  return [le, be];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

describe('privacy on the real network', () => {
  let actors: Actors;
  let slotId: string;
  const submitted: { device: Device; lower: number; upper: number; signed: SignedForecast }[] = [];

  before(async () => {
    actors = new Actors();
    slotId = uniqueSlotId('privacy');
    await actors.openSlot(slotId, 120_000);
    const devices = UTILITIES.flatMap((mspId) => devicesOf(actors.description, mspId)).filter(
      (d) => d.bus === 'bus-1',
    );
    await Promise.all(
      devices.map(async (device, index) => {
        // Offsets keep these values apart from the other suites' and from every published sum.
        const [lower, upper] = forecastFor(index + 101);
        submitted.push({
          device,
          lower,
          upper,
          signed: await actors.submitForecast(device, slotId, lower, upper),
        });
      }),
    );
  });

  after(() => actors.close());

  it("the DSO's and the regulator's peers cannot read forecasts: the chaincode refuses them and they hold no copy", async () => {
    const first = submitted[0];
    if (first === undefined) {
      throw new Error('nothing submitted');
    }
    // UtilityA's relay asking for a home's allowed power through the DSO's or the regulator's peer.
    for (const peerMspId of ['DSOMSP', 'RegulatorMSP']) {
      const foreign = actors.connect(UTILITY_A, 'relay', peerMspId);
      await expectRefusal(
        foreign.contract().evaluate('GetAllowedPower', { arguments: [slotId, 'a'.repeat(64)] }),
        'FORBIDDEN',
        /own organization/,
      );
    }
    // The DSO asking UtilityA's peer directly.
    const dsoOnA = actors.connect('DSOMSP', 'dso-operator', UTILITY_A);
    await expectRefusal(
      dsoOnA.contract().evaluate('GetAllowedPower', { arguments: [slotId, 'a'.repeat(64)] }),
      'FORBIDDEN',
    );

    // On disk: UtilityA's peer stores the canonical forecast; the DSO's and the regulator's do not.
    const stored = (entry: (typeof submitted)[number]): string =>
      canonicalJson({
        bus: entry.device.bus,
        lower: entry.lower,
        nonce: entry.signed.nonce,
        slotId,
        upper: entry.upper,
      });
    const fragmentsOf = (mspId: string): Buffer[] =>
      submitted
        .filter((entry) => entry.device.mspId === mspId)
        .map((entry) => Buffer.from(entry.signed.nonce));
    const peerFiles = (org: string): Buffer[] =>
      filesUnder(path.join(E2E_STATE_DIR, 'data', `peer0.${org}`)).map((file) => readFileSync(file));
    const holds = (files: Buffer[], needle: Buffer): boolean =>
      files.some((content) => content.includes(needle));
    const utilityAFiles = peerFiles('utilitya');
    expect(
      fragmentsOf(UTILITY_A).some((nonce) => holds(utilityAFiles, nonce)),
      "positive control: UtilityA's peer stores its forecasts",
    ).to.equal(true);
    for (const org of ['dso', 'regulator']) {
      const files = peerFiles(org);
      for (const entry of submitted) {
        expect(holds(files, Buffer.from(entry.signed.nonce)), `${org} holds a nonce`).to.equal(false);
        expect(holds(files, Buffer.from(stored(entry))), `${org} holds a forecast`).to.equal(false);
      }
    }
  });

  describe('blocks fetched from the DSO and regulator peers (qscc)', () => {
    const chains = new Map<string, FetchedBlock[]>();

    before(async () => {
      chains.set('DSOMSP', await fetchBlocks(actors.dso, actors.description.channel));
      chains.set('RegulatorMSP', await fetchBlocks(actors.auditor, actors.description.channel));
    });

    it('hold this slot’s forecast transactions (positive control)', () => {
      for (const blocks of chains.values()) {
        const forecasts = blocks
          .flatMap((b) => b.transactions)
          .filter((tx) => tx.chaincodeArgs[1] === slotId);
        expect(forecasts.filter((tx) => tx.chaincodeArgs[0] === 'SubmitForecast')).to.have.length(
          submitted.length,
        );
        expect(Buffer.concat(blocks.map((b) => b.bytes)).includes(Buffer.from(slotId))).to.equal(true);
      }
    });

    it('contain no forecast value, nonce, payload or home id in any encoding', () => {
      for (const [org, blocks] of chains) {
        const all = Buffer.concat(blocks.map((b) => b.bytes));
        for (const { device, lower, upper, signed } of submitted) {
          const needles = [
            ...encodings(device.homeId),
            ...encodings(signed.nonce),
            Buffer.from(signed.nonce, 'base64'),
            Buffer.from(signed.payload),
            ...encodings(Buffer.from(signed.payload).toString('utf8')),
            ...encodings(`"lower":${lower}`),
            ...encodings(`"upper":${upper}`),
            ...encodings(`${lower},${upper}`),
            ...encodings(`:${Math.round(lower * 1000)},`),
            ...encodings(`:${Math.round(upper * 1000)},`),
            ...doubles(lower),
            ...doubles(upper),
            Buffer.from(signed.signature),
          ];
          for (const needle of needles) {
            expect(
              all.includes(needle),
              `${org}'s blocks contain an encoding of ${device.name}'s forecast`,
            ).to.equal(false);
          }
        }
      }
    });

    it('show a relay — never a home — as the creator of every forecast transaction', () => {
      for (const blocks of chains.values()) {
        const forecasts = blocks
          .flatMap((b) => b.transactions)
          .filter((tx) => tx.chaincodeArgs[0] === 'SubmitForecast');
        expect(forecasts.length).to.be.at.least(submitted.length);
        for (const tx of forecasts) {
          expect(UTILITIES).to.include(tx.creatorMspId);
          const attrs = fabricAttributes(new X509Certificate(tx.creatorCertificate));
          expect(attrs['hems.role']).to.equal('relay');
          expect(attrs).to.not.have.property('hems.home');
          // The only argument is the slot id; the forecast travelled in transient data.
          expect(tx.chaincodeArgs).to.have.length(2);
        }
      }
    });
  });
});
