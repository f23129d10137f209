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

/** One device-signed forecast as SubmitForecasts takes it in its transient `items`. */
export interface BatchItem {
  readonly payload: string;
  readonly signature: string;
  readonly certificate: string;
}

export function batchItem(device: BenchDevice, slotId: string, range: ForecastRange): BatchItem {
  const { payload, signature } = signDeviceForecast(device, slotId, range);
  return {
    payload: payload.toString('base64'),
    signature: signature.toString('base64'),
    certificate: device.certificatePem,
  };
}

/** Splits items into batches of at most `size`. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }
  return chunks;
}

/**
 * The raw batched relay path: one SubmitForecasts transaction of device-signed items, endorsed on
 * the utility's own peer; resolves with the accepted count once committed, throws if any item was
 * refused.
 */
export async function relaySubmitBatch(
  relay: Contract,
  mspId: string,
  slotId: string,
  items: readonly BatchItem[],
): Promise<number> {
  const receipt = await submitJson<{ accepted: number; refused: unknown[] }>(relay, 'SubmitForecasts', {
    args: [slotId],
    transientData: { items: Buffer.from(JSON.stringify(items)) },
    endorsingOrganizations: [mspId],
  });
  if (receipt.refused.length > 0) {
    throw new Error(
      `${receipt.refused.length} items of a batch were refused, first: ${JSON.stringify(receipt.refused[0])}`,
    );
  }
  return receipt.accepted;
}
