import {
  collectionOf,
  conflict,
  invalidArgument,
  MAX_CERTIFICATE_PEM_BYTES,
  notFound,
  parseJsonArgument,
  parseStoredJson,
  requireInteger,
  requireObject,
  requireOnlyKeys,
  requireString,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { drain, readPrivate, writePrivate } from '../lib/state';
import { requireTransientText } from '../lib/transient';
import { verifyDevice } from './devices';

/**
 * OpenADR VEN credentials of a utility's homes, kept in the utility's own collection so that every
 * gateway instance of the utility shares them and a restart loses none. A VEN holds no Fabric key:
 * its client secret is stored only as a slow hash (scrypt, computed by the gateway), and the home's
 * certificate is the one the utility's CA issued for it, which its relay attaches to the VEN's
 * relay-attested items. Only the utility's own peer holds these records.
 */

/** The slow hash of a client secret: scrypt with its cost parameters and salt. */
export interface VenSecretHash {
  readonly algorithm: 'scrypt';
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
  readonly salt: string;
  readonly hash: string;
}

export interface VenRecord {
  readonly clientId: string;
  readonly venId: string;
  readonly venName: string;
  readonly homeId: string;
  readonly bus: string;
  /** The home's certificate (PEM) from the utility's CA: the relay attests the VEN's items with it. */
  readonly certificate: string;
  readonly secret: VenSecretHash;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

/** A VEN as listed: no secret hash and no certificate. */
export type VenSummary = Omit<VenRecord, 'secret' | 'certificate'>;

/** Client ids are random and URL-safe: 16-64 characters. */
const CLIENT_ID = /^[A-Za-z0-9_-]{16,64}$/;
/** The OpenADR objectID pattern, 1-128 characters. */
const OBJECT_ID = /^[a-zA-Z0-9_-]{1,128}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_VEN_BYTES = MAX_CERTIFICATE_PEM_BYTES + 4096;

function base64Of(value: unknown, name: string, minBytes: number, maxBytes: number): string {
  const text = requireString(value, name);
  const bytes = BASE64.test(text) ? Buffer.from(text, 'base64').length : 0;
  if (bytes < minBytes || bytes > maxBytes) {
    throw invalidArgument(`${name} must be base64 of ${minBytes}-${maxBytes} bytes`);
  }
  return text;
}

export function parseClientId(value: unknown): string {
  const text = requireString(value, 'clientId');
  if (!CLIENT_ID.test(text)) {
    throw invalidArgument('clientId must be 16-64 characters of A-Z, a-z, 0-9, _ and -');
  }
  return text;
}

function parseSecretHash(value: unknown): VenSecretHash {
  const record = requireObject(value, 'secret');
  requireOnlyKeys(record, 'secret', ['algorithm', 'cost', 'blockSize', 'parallelization', 'salt', 'hash']);
  if (record.algorithm !== 'scrypt') {
    throw invalidArgument('secret.algorithm must be scrypt');
  }
  const cost = requireInteger(record.cost, 'secret.cost', 16_384, 1_048_576);
  if ((cost & (cost - 1)) !== 0) {
    throw invalidArgument('secret.cost must be a power of two');
  }
  return {
    algorithm: 'scrypt',
    cost,
    blockSize: requireInteger(record.blockSize, 'secret.blockSize', 8, 32),
    parallelization: requireInteger(record.parallelization, 'secret.parallelization', 1, 16),
    salt: base64Of(record.salt, 'secret.salt', 16, 64),
    hash: base64Of(record.hash, 'secret.hash', 32, 64),
  };
}

function parseText(value: unknown, name: string, pattern: RegExp, rule: string): string {
  const text = requireString(value, name);
  if (!pattern.test(text)) {
    throw invalidArgument(`${name} must be ${rule}`);
  }
  return text;
}

/**
 * Registers a VEN of one of `org`'s homes from transient `ven` (JSON {clientId, venId, venName,
 * certificate, secret}): the certificate must be a valid, unrevoked device certificate of the org,
 * whose home id and bus the record keeps. The answer, written into the block, names nothing.
 */
export async function registerVen(ctx: HemsContext, org: string): Promise<{ registeredAt: string }> {
  const input = requireObject(
    parseJsonArgument(requireTransientText(ctx, 'ven', MAX_VEN_BYTES), 'ven', MAX_VEN_BYTES),
    'ven',
  );
  requireOnlyKeys(input, 'ven', ['clientId', 'venId', 'venName', 'certificate', 'secret']);
  const clientId = parseClientId(input.clientId);
  const venId = parseText(input.venId, 'venId', OBJECT_ID, '1-128 characters of A-Z, a-z, 0-9, _ and -');
  const venName = requireString(input.venName, 'venName');
  if (venName.length < 1 || venName.length > 128) {
    throw invalidArgument('venName must be 1-128 characters');
  }
  const certificate = requireString(input.certificate, 'certificate');
  const device = await verifyDevice(ctx, org, certificate);
  const key = ctx.keys.ven(clientId);
  const collection = collectionOf(org);
  if ((await readPrivate(ctx.stub, collection, key)) !== undefined) {
    throw conflict('a VEN with this client id is already registered');
  }
  const record: VenRecord = {
    clientId,
    venId,
    venName,
    homeId: device.homeId,
    bus: device.bus,
    certificate,
    secret: parseSecretHash(input.secret),
    createdAt: isoTime(ctx.now),
  };
  await writePrivate(ctx.stub, collection, key, record);
  return { registeredAt: record.createdAt };
}

function venFromBytes(bytes: Uint8Array): VenRecord {
  return parseStoredJson(bytes, 'VEN') as VenRecord;
}

/** The VEN of a client id (from transient `clientId`), secret hash included: for the org's gateway. */
export async function loadVen(ctx: HemsContext, org: string, clientId: string): Promise<VenRecord> {
  const bytes = await readPrivate(ctx.stub, collectionOf(org), ctx.keys.ven(parseClientId(clientId)));
  if (bytes === undefined) {
    throw notFound('no VEN with this client id is registered');
  }
  return venFromBytes(bytes);
}

/** Revokes a VEN's credentials (transient `clientId`); its tokens stop working at the gateways. */
export async function revokeVen(ctx: HemsContext, org: string): Promise<{ revokedAt: string }> {
  const clientId = requireTransientText(ctx, 'clientId', 64);
  const record = await loadVen(ctx, org, clientId);
  if (record.revokedAt !== undefined) {
    throw conflict('this VEN is already revoked');
  }
  const revokedAt = isoTime(ctx.now);
  await writePrivate(ctx.stub, collectionOf(org), ctx.keys.ven(record.clientId), { ...record, revokedAt });
  return { revokedAt };
}

/** Every VEN of the org, without secret hashes or certificates (read-only transactions only). */
export async function listVens(ctx: HemsContext, org: string): Promise<VenSummary[]> {
  const rows = await drain(ctx.stub.getPrivateDataByPartialCompositeKey(collectionOf(org), KeyType.ven, []));
  return rows.map((row) => {
    const ven = venFromBytes(row.value);
    return {
      clientId: ven.clientId,
      venId: ven.venId,
      venName: ven.venName,
      homeId: ven.homeId,
      bus: ven.bus,
      createdAt: ven.createdAt,
      ...(ven.revokedAt === undefined ? {} : { revokedAt: ven.revokedAt }),
    };
  });
}
