/** Forecast ranges of bench homes and the device-signed submissions of the raw relay path. */
import { sign } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { Contract } from '@hyperledger/fabric-gateway';
import { submitJson } from '@hems/network-client';
import { forecastPayload, NONCE_BYTES, type ForecastRange } from '@hems/protocol';
import type { BenchDevice } from './devices';
import { randomInt } from './random';

/** A plausible home range in kW with watt resolution: lower 0.2-3 kW, upper 0-4 kW above it. */
export function randomRange(random: () => number): ForecastRange {
  const lowerW = randomInt(random, 200, 3000);
  const upperW = lowerW + randomInt(random, 0, 4000);
  return { lower: lowerW / 1000, upper: upperW / 1000 };
}

/** What the device does: the exact payload text with a fresh nonce, signed with its own key. */
export function signDeviceForecast(
  device: BenchDevice,
  slotId: string,
  range: ForecastRange,
): { payload: Buffer; signature: Buffer } {
  const payload = Buffer.from(forecastPayload(slotId, range, randomBytes(NONCE_BYTES).toString('base64')));
  return { payload, signature: sign('sha256', payload, device.privateKeyPem) };
}

/**
 * The raw fabric-gateway path: the utility's relay submits the device-signed forecast with
 * SubmitForecast, endorsed on its own peer; resolves once committed.
 */
export async function relaySubmitForecast(
  relay: Contract,
  device: BenchDevice,
  slotId: string,
  range: ForecastRange,
): Promise<void> {
  const { payload, signature } = signDeviceForecast(device, slotId, range);
  await submitJson(relay, 'SubmitForecast', {
    args: [slotId],
    transientData: { payload, signature, certificate: Buffer.from(device.certificatePem) },
    endorsingOrganizations: [device.mspId],
  });
}
