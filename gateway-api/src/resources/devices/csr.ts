// @peculiar/x509 needs the metadata polyfill before it parses anything.
import 'reflect-metadata';
import { createPublicKey, webcrypto } from 'node:crypto';
import { BasicConstraintsExtension, Pkcs10CertificateRequest } from '@peculiar/x509';
import { HttpError } from '../../http/errors';

/** The device's CSR: PEM PKCS#10, ECDSA P-256 key, valid self-signature, CN = enrolment id, no CA. */
export async function checkCsr(pem: string, enrollmentId: string): Promise<void> {
  const match =
    /^\s*-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END (?:NEW )?CERTIFICATE REQUEST-----\s*$/.exec(
      pem,
    );
  let csr: Pkcs10CertificateRequest;
  try {
    if (match?.[1] === undefined) {
      throw new Error('not PEM');
    }
    csr = new Pkcs10CertificateRequest(Buffer.from(match[1].replace(/\s+/g, ''), 'base64'));
  } catch {
    throw new HttpError(400, 'INVALID_CSR', 'csr is not a PEM-encoded PKCS#10 certificate request');
  }
  let curve: string | undefined;
  try {
    const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  } catch {
    curve = undefined;
  }
  if (curve !== 'prime256v1') {
    throw new HttpError(400, 'INVALID_CSR', 'the CSR key must be an ECDSA P-256 key');
  }
  let signed = false;
  try {
    signed = await csr.verify(webcrypto);
  } catch {
    signed = false;
  }
  if (!signed) {
    throw new HttpError(400, 'INVALID_CSR', 'the CSR signature does not verify with its own key');
  }
  const commonNames = csr.subjectName.getField('CN');
  // Only the CN: the CA copies other subject fields (O, OU, ...) into the certificate, where they
  // must not be chosen by the device.
  const otherFields = csr.subjectName
    .toJSON()
    .flatMap((rdn) => Object.keys(rdn))
    .filter((type) => type !== 'CN');
  if (otherFields.length > 0) {
    throw new HttpError(400, 'INVALID_CSR', 'the CSR subject must hold only a CN');
  }
  if (commonNames.length !== 1 || commonNames[0] !== enrollmentId) {
    throw new HttpError(
      400,
      'INVALID_CSR',
      'the CSR subject must have exactly one CN, equal to enrollmentId',
    );
  }
  const constraints = csr.extensions.find((extension) => extension instanceof BasicConstraintsExtension);
  if (constraints instanceof BasicConstraintsExtension && constraints.ca) {
    throw new HttpError(400, 'INVALID_CSR', 'a device CSR must not request a CA certificate');
  }
}
