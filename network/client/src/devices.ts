import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readCredentials } from './connection';
import type { IdentityDescription, NetworkDescription } from './network-description';

/**
 * A HEMS device as the network scripts enrolled it (sample devices for tests and the demo): its
 * certificate and its own private key. A real device keeps its key in its own secure storage.
 */
export interface Device {
  readonly name: string;
  readonly mspId: string;
  readonly homeId: string;
  readonly bus: string;
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
}

/** The HEMS devices (hems.role=hems) of an org, in name order. */
export function devicesOf(description: NetworkDescription, mspId: string): Device[] {
  return description.identities
    .filter((identity) => identity.mspId === mspId && identity.attributes['hems.role'] === 'hems')
    .map((identity: IdentityDescription) => {
      const credentials = readCredentials(identity);
      return {
        name: identity.name,
        mspId,
        homeId: identity.attributes['hems.home'] ?? '',
        bus: identity.attributes['hems.bus'] ?? '',
        certificatePem: credentials.certificate.toString('utf8'),
        privateKey: createPrivateKey(credentials.privateKeyPem),
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export interface SignedForecast {
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly certificate: Uint8Array;
  readonly nonce: string;
}

/** What the device does: sign {slotId, lower, upper, nonce} with its own key. */
export function signForecast(device: Device, slotId: string, lower: number, upper: number): SignedForecast {
  const nonce = randomBytes(16).toString('base64');
  const payload = Buffer.from(JSON.stringify({ slotId, lower, upper, nonce }));
  return {
    payload,
    signature: sign('sha256', payload, device.privateKey),
    certificate: Buffer.from(device.certificatePem),
    nonce,
  };
}

export function transientOf(forecast: SignedForecast): Record<string, Uint8Array> {
  return { payload: forecast.payload, signature: forecast.signature, certificate: forecast.certificate };
}
