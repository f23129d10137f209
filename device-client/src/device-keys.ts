// @peculiar/x509 needs the metadata polyfill before it parses anything.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, KeyObject, webcrypto, type X509Certificate } from 'node:crypto';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';

/** ECDSA over P-256 with SHA-256: the only key type the chaincode accepts for HEMS devices. */
export const DEVICE_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A device key pair as Web Crypto keys (the private key is extractable, to be stored as PKCS#8). */
export type DeviceKeyPair = webcrypto.CryptoKeyPair;

/** A fresh ECDSA P-256 key pair, made on the device. */
export async function generateDeviceKeyPair(): Promise<DeviceKeyPair> {
  return webcrypto.subtle.generateKey(DEVICE_KEY_ALGORITHM, true, ['sign', 'verify']);
}

/**
 * A PEM PKCS#10 certificate request for `enrollmentId`, signed with the device key: its subject
 * is exactly one CN equal to the enrolment id, as Fabric CA requires.
 */
export async function createCsrPem(keys: DeviceKeyPair, enrollmentId: string): Promise<string> {
  if (enrollmentId.length === 0 || enrollmentId.length > 64) {
    throw new RangeError('the enrolment id must be 1-64 characters (it becomes the CSR subject CN)');
  }
  const csr = await Pkcs10CertificateRequestGenerator.create(
    {
      // A JSON name, so no character of the id needs distinguished-name escaping.
      name: [{ CN: [enrollmentId] }],
      keys,
      signingAlgorithm: DEVICE_KEY_ALGORITHM,
    },
    webcrypto,
  );
  return `${csr.toString('pem')}\n`;
}

/** The private key as PKCS#8 PEM (unencrypted: store it with owner-only permissions). */
export function exportPrivateKeyPem(privateKey: webcrypto.CryptoKey | KeyObject): string {
  const key = privateKey instanceof KeyObject ? privateKey : KeyObject.from(privateKey);
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** Reads a PEM private key (PKCS#8, or SEC1 `EC PRIVATE KEY`) and checks it is an ECDSA P-256 key. */
export function importPrivateKeyPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // Never echo the input: it is key material.
    throw new Error('the device key is not a readable unencrypted PEM private key');
  }
  if (!isP256(key)) {
    throw new Error('the device key must be an ECDSA P-256 key');
  }
  return key;
}

/** Whether `certificate` certifies the public half of `privateKey`. */
export function certificateMatchesKey(certificate: X509Certificate, privateKey: KeyObject): boolean {
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCertificate = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return Buffer.compare(fromKey, fromCertificate) === 0;
}

/** What a device needs to enrol: its new private key (kept) and the CSR (sent). */
export interface DeviceEnrollmentRequest {
  readonly csrPem: string;
  readonly privateKeyPem: string;
}

/** Generates the device key pair and its CSR for `enrollmentId`. */
export async function createEnrollmentRequest(enrollmentId: string): Promise<DeviceEnrollmentRequest> {
  const keys = await generateDeviceKeyPair();
  const csrPem = await createCsrPem(keys, enrollmentId);
  return { csrPem, privateKeyPem: exportPrivateKeyPem(keys.privateKey) };
}
