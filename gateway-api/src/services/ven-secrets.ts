import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * OpenADR VEN credentials (OAuth 2 client credentials) and the slow hash of their secrets. The
 * chaincode stores only the hash (RegisterVen), so a copy of the utility's collection, or a peer's
 * state database, does not give anyone a working secret.
 */

/** Client ids: random and URL-safe, as the chaincode checks them. */
export const VEN_CLIENT_ID_PATTERN = '^[A-Za-z0-9_-]{16,64}$';
export const VEN_CLIENT_ID = new RegExp(VEN_CLIENT_ID_PATTERN);
/** VEN ids are OpenADR objectIDs. */
export const VEN_ID_PATTERN = '^[a-zA-Z0-9_-]{1,128}$';

/** The slow hash of a client secret, as the chaincode stores it (salt and hash in base64). */
export interface VenSecretHash {
  readonly algorithm: 'scrypt';
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
  readonly salt: string;
  readonly hash: string;
}

export interface VenCredentials {
  readonly clientId: string;
  /** Shown once to the admin who registers the VEN; only its hash is kept. */
  readonly clientSecret: string;
  readonly venId: string;
}

/** scrypt parameters of new hashes: N = 2^15, r = 8, p = 1 (32 MiB, some 100 ms). */
const COST = 2 ** 15;
const BLOCK_SIZE = 8;
const PARALLELIZATION = 1;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

/** The chaincode's bounds on stored hashes (governance/vens.ts). */
const BOUNDS = {
  cost: [16_384, 1_048_576],
  blockSize: [8, 32],
  parallelization: [1, 16],
  saltBytes: [16, 64],
  hashBytes: [32, 64],
} as const;

/**
 * The most work (N·r·p) a stored hash may ask of a verification: 16 times this gateway's own
 * (at most 512 MiB). The chaincode allows up to 4 GiB and minutes of CPU per check; a token request
 * must not be able to make the gateway spend that.
 */
const MAX_WORK = 16 * COST * BLOCK_SIZE * PARALLELIZATION;

/** New credentials: a 128-bit client id, a 256-bit secret and a 96-bit VEN id, all base64url. */
export function newVenCredentials(): VenCredentials {
  return {
    clientId: randomBytes(16).toString('base64url'),
    clientSecret: randomBytes(32).toString('base64url'),
    // Hex: the VEN id also names its home certificate's CA identity (oadr-<venId>).
    venId: `ven-${randomBytes(12).toString('hex')}`,
  };
}

function scryptOptions(cost: number, blockSize: number, parallelization: number): ScryptOptions {
  // What OpenSSL allocates: 128·r·(N + 2) for V plus 128·r·p for B; Node's default cap is 32 MiB,
  // just below what N = 2^15, r = 8 needs.
  return {
    N: cost,
    r: blockSize,
    p: parallelization,
    maxmem: 128 * blockSize * (cost + parallelization + 2),
  };
}

function derive(secret: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the work runs on libuv's thread pool, not on the event loop.
    scrypt(secret, salt, length, options, (error, key) => (error === null ? resolve(key) : reject(error)));
  });
}

/** The scrypt hash of a client secret with a fresh salt, as RegisterVen takes it. */
export async function hashVenSecret(secret: string): Promise<VenSecretHash> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, HASH_BYTES, scryptOptions(COST, BLOCK_SIZE, PARALLELIZATION));
  return {
    algorithm: 'scrypt',
    cost: COST,
    blockSize: BLOCK_SIZE,
    parallelization: PARALLELIZATION,
    salt: salt.toString('base64'),
    hash: hash.toString('base64'),
  };
}

function within(value: unknown, [min, max]: readonly [number, number]): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function base64Bytes(value: unknown, [min, max]: readonly [number, number]): Buffer | undefined {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    return undefined;
  }
  const bytes = Buffer.from(value, 'base64');
  return bytes.length >= min && bytes.length <= max ? bytes : undefined;
}

/** The parameters of a stored hash, when the chaincode would have taken them and they cost little enough. */
function usableParameters(
  stored: VenSecretHash,
): { options: ScryptOptions; salt: Buffer; hash: Buffer } | undefined {
  // Read as unknowns: the record comes from the ledger, whatever its declared type.
  const fields: Partial<Record<keyof VenSecretHash, unknown>> = stored;
  const { algorithm, cost, blockSize, parallelization } = fields;
  if (
    algorithm !== 'scrypt' ||
    !within(cost, BOUNDS.cost) ||
    (cost & (cost - 1)) !== 0 ||
    !within(blockSize, BOUNDS.blockSize) ||
    !within(parallelization, BOUNDS.parallelization) ||
    cost * blockSize * parallelization > MAX_WORK
  ) {
    return undefined;
  }
  const salt = base64Bytes(fields.salt, BOUNDS.saltBytes);
  const hash = base64Bytes(fields.hash, BOUNDS.hashBytes);
  return salt === undefined || hash === undefined
    ? undefined
    : { options: scryptOptions(cost, blockSize, parallelization), salt, hash };
}

/**
 * Whether `secret` is the one `stored` was made from, compared in constant time. A hash of another
 * algorithm, or with parameters out of the chaincode's bounds or too costly, matches nothing.
 */
export async function verifyVenSecret(secret: string, stored: VenSecretHash): Promise<boolean> {
  const usable = usableParameters(stored);
  if (usable === undefined) {
    return false;
  }
  const candidate = await derive(secret, usable.salt, usable.hash.length, usable.options);
  return timingSafeEqual(candidate, usable.hash);
}
