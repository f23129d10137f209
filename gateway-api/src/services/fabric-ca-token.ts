import { sign, type KeyObject } from 'node:crypto';
import { FabricCaError } from './fabric-ca-error';

/** Orders of the curves Fabric CA keys use, for low-S signatures (Fabric's BCCSP rejects high S). */
const CURVE_ORDERS: Readonly<Record<string, bigint>> = {
  prime256v1: BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551'),
  secp384r1: BigInt(
    '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973',
  ),
};

function derLength(length: number): Buffer {
  if (length < 0x80) {
    return Buffer.from([length]);
  }
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) {
    bytes.unshift(rest & 0xff);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) {
    hex = `0${hex}`;
  }
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] ?? 0) & 0x80) {
    bytes = Buffer.concat([Buffer.from([0]), bytes]);
  }
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes]);
}

/** ECDSA-SHA256 signature, DER-encoded with a low S, as Fabric's BCCSP produces and requires. */
export function signLowS(data: Buffer, key: KeyObject): Buffer {
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const order = CURVE_ORDERS[curve];
  if (key.asymmetricKeyType !== 'ec' || order === undefined) {
    throw new FabricCaError('the registrar key must be an EC P-256 or P-384 private key', 'failed');
  }
  const raw = sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  const half = raw.length / 2;
  const r = BigInt(`0x${raw.subarray(0, half).toString('hex')}`);
  let s = BigInt(`0x${raw.subarray(half).toString('hex')}`);
  if (s > order / 2n) {
    s = order - s;
  }
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/**
 * Fabric CA's authorization token (fabric-ca util.GenECDSAToken):
 * `<base64 cert PEM>.<base64 DER signature>`, the signature by the identity's key over
 * `<method>.<base64 request URI>.<base64 body>.<base64 cert PEM>` (standard base64, the URI being
 * the path and query the server sees, e.g. /api/v1/register).
 */
export function createFabricCaToken(
  method: string,
  requestUri: string,
  body: Buffer,
  certificatePem: string,
  privateKey: KeyObject,
): string {
  const b64cert = Buffer.from(certificatePem, 'utf8').toString('base64');
  const payload = [
    method,
    Buffer.from(requestUri, 'utf8').toString('base64'),
    body.toString('base64'),
    b64cert,
  ].join('.');
  return `${b64cert}.${signLowS(Buffer.from(payload, 'utf8'), privateKey).toString('base64')}`;
}
