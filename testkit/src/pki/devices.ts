import { KeyObject, sign } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { freshNonce as protocolNonce, MIN_NONCE_BYTES, signPayload as signDer } from '@hems/protocol';
import type { TestCa } from './ca';
import { fabricAttributesExtension, issue } from './certificates';
import { nextSerial } from './ca';
import { ECDSA, ECDSA_P384, generateKeys } from './keys';

/** A HEMS device as the chaincode sees it: its certificate, its serial and its private key. */
export interface TestDevice {
  readonly homeId: string;
  readonly bus: string;
  readonly pem: string;
  /** The certificate's serial without leading zeros (upper-case hex). */
  readonly serial: string;
  readonly privateKey: KeyObject;
}

export interface DeviceOptions {
  readonly homeId: string;
  readonly bus: string;
  readonly role?: string | null;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Extra or replacement Fabric attributes. */
  readonly attrs?: Record<string, string>;
  /** Fabric attributes to leave out. */
  readonly omit?: readonly string[];
  /** Use a P-384 key instead of P-256. */
  readonly p384?: boolean;
  /** The subject's common name (the enrolment id); default the home id. */
  readonly commonName?: string;
}

/** The Fabric attributes of a HEMS device's enrolment certificate, with the options' changes. */
function deviceAttributes(options: DeviceOptions): Record<string, string> {
  const attrs: Record<string, string> = {
    'hf.EnrollmentID': options.homeId,
    'hems.home': options.homeId,
    'hems.bus': options.bus,
    ...(options.role === null ? {} : { 'hems.role': options.role ?? 'hems' }),
    ...options.attrs,
  };
  for (const name of options.omit ?? []) {
    delete attrs[name];
  }
  return attrs;
}

/** A device key pair and its certificate as the org's Fabric CA enrols a HEMS device. */
export async function issueDevice(ca: TestCa, options: DeviceOptions): Promise<TestDevice> {
  const keys = await generateKeys(options.p384 ? ECDSA_P384 : ECDSA);
  const serial = nextSerial();
  const certificate = await issue(ca, {
    serialNumber: serial,
    subject: `CN=${options.commonName ?? options.homeId}, OU=client, O=${ca.name}, C=US`,
    publicKey: keys.publicKey,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      fabricAttributesExtension(deviceAttributes(options)),
    ],
  });
  return {
    homeId: options.homeId,
    bus: options.bus,
    pem: certificate.toString('pem'),
    serial: serial.replace(/^0+/, ''),
    privateKey: KeyObject.from(keys.privateKey),
  };
}

/** A forecast's members as a test writes them: any values, to test the refusals too. */
export interface ForecastInput {
  readonly slotId: string;
  readonly lower: unknown;
  readonly upper: unknown;
  readonly nonce?: unknown;
}

/** What a HEMS device sends its utility: payload bytes, signature, certificate. */
export interface SignedPayload {
  readonly payload: Buffer;
  readonly signature: Buffer;
  readonly certificate: string;
}

/** A nonce of the fewest random bytes the chaincode accepts. */
export function freshNonce(): string {
  return protocolNonce(MIN_NONCE_BYTES);
}

/** Signs a forecast as written (the device client's forecastPayload would normalize the values). */
export function signForecast(
  device: TestDevice,
  input: ForecastInput,
  encoding: 'der' | 'ieee-p1363' = 'der',
): SignedPayload {
  const payload = Buffer.from(
    JSON.stringify({
      slotId: input.slotId,
      lower: input.lower,
      upper: input.upper,
      nonce: input.nonce ?? freshNonce(),
    }),
  );
  return signPayload(device, payload, encoding);
}

/** Signs payload bytes with the device key: DER as a device does, or IEEE P1363 as Web Crypto does. */
export function signPayload(
  device: TestDevice,
  payload: Buffer,
  encoding: 'der' | 'ieee-p1363' = 'der',
): SignedPayload {
  const signature =
    encoding === 'der'
      ? Buffer.from(signDer(device.privateKey, payload), 'base64')
      : sign('sha256', payload, { key: device.privateKey, dsaEncoding: encoding });
  return { payload, signature, certificate: device.pem };
}
