import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { devicesOf, evaluateJson, submitJson } from '@hems/network-client';
import { Actors, PRICES, UTILITY_A, UTILITY_B, expectRefusal, uniqueSlotId } from './support/actors';

describe('refusals surface through a real peer as clear errors', () => {
  let actors: Actors;

  before(() => {
    actors = new Actors();
  });

  after(() => actors.close());

  it('wrong role: only DSO operators open slots, only relays submit forecasts', async () => {
    const deadline = new Date(Date.now() + 60_000).toISOString();
    await expectRefusal(
      submitJson(actors.auditor.contract(), 'OpenSlot', {
        args: [uniqueSlotId('wrong-role'), deadline, PRICES, ''],
      }),
      'FORBIDDEN',
      /DSO operators/,
    );
    await expectRefusal(
      submitJson(actors.relay(UTILITY_A).contract(), 'OpenSlot', {
        args: [uniqueSlotId('wrong-role'), deadline, PRICES, ''],
      }),
      'FORBIDDEN',
    );
    const slotId = uniqueSlotId('wrong-role');
    await actors.openSlot(slotId, 60_000);
    const [device] = devicesOf(actors.description, UTILITY_A);
    if (device === undefined) {
      throw new Error('no device');
    }
    const meter = actors.connect(UTILITY_A, 'meter-headend');
    await expectRefusal(
      submitJson(meter.contract(), 'SubmitForecast', { args: [slotId], endorsingOrganizations: [UTILITY_A] }),
      'FORBIDDEN',
      /relay/,
    );
  });

  it("a revoked device: its utility's admin revokes the certificate, the next forecast is refused", async () => {
    // The last device of UtilityB (bus-2) is revoked for good; later suites leave it out.
    const device = devicesOf(actors.description, UTILITY_B).at(-1);
    if (device === undefined) {
      throw new Error('no device');
    }
    const slotId = uniqueSlotId('revoked');
    await actors.openSlot(slotId, 60_000);
    await actors.submitForecast(device, slotId, 1, 2);
    const serial = new X509Certificate(device.certificatePem).serialNumber;
    await submitJson(actors.admin(UTILITY_B).contract('governance'), 'RevokeDeviceCertificate', {
      args: [serial, 'e2e: lost device'],
    });
    await expectRefusal(actors.submitForecast(device, slotId, 1, 2), 'FORBIDDEN', /revoked/);
  });

  it('a late submission after the deadline', async () => {
    const slotId = uniqueSlotId('late');
    await actors.openSlot(slotId, 4_000);
    const [device] = devicesOf(actors.description, UTILITY_A);
    if (device === undefined) {
      throw new Error('no device');
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await expectRefusal(
      actors.submitForecast(device, slotId, 1, 2),
      'FAILED_PRECONDITION',
      /closed for forecasts/,
    );
  });

  it('bad input and a replayed payload', async () => {
    const slotId = uniqueSlotId('bad-input');
    await actors.openSlot(slotId, 60_000);
    const [device] = devicesOf(actors.description, UTILITY_A);
    if (device === undefined) {
      throw new Error('no device');
    }
    await expectRefusal(
      actors.submitForecast(device, slotId, 3, 2),
      'INVALID_ARGUMENT',
      /lower must not exceed/,
    );
    // A payload replayed to the ledger is stored but never counts: the newer forecast stays in
    // effect (the gateways refuse replays before they reach the ledger).
    const older = await actors.submitForecast(device, slotId, 1, 2);
    await actors.submitForecast(device, slotId, 3, 4);
    await actors.submitSigned(device, slotId, older);
    const { forecast } = await evaluateJson<{ forecast: { lower: number; upper: number } }>(
      actors.relay(UTILITY_A).contract(),
      'GetForecastProof',
      [slotId],
      { certificate: Buffer.from(device.certificatePem) },
    );
    expect(forecast).to.include({ lower: 3, upper: 4 });
    await expectRefusal(
      submitJson(actors.dso.contract(), 'PublishDispatch', { args: [slotId, '1.5', '', ''] }),
      'INVALID_ARGUMENT',
      /lambda/,
    );
  });
});
