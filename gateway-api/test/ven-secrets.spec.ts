import { scryptSync } from 'node:crypto';
import { expect } from 'chai';
import {
  hashVenSecret,
  newVenCredentials,
  verifyVenSecret,
  type VenSecretHash,
} from '../src/services/ven-secrets';

/** The chaincode's own patterns (governance/vens.ts): client ids and OpenADR objectIDs. */
const CHAINCODE_CLIENT_ID = /^[A-Za-z0-9_-]{16,64}$/;
const OPENADR_OBJECT_ID = /^[a-zA-Z0-9_-]{1,128}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

describe('VEN credentials and secret hashes', () => {
  let secret: string;
  let stored: VenSecretHash;

  before(async () => {
    secret = newVenCredentials().clientSecret;
    stored = await hashVenSecret(secret);
  });

  it('makes random URL-safe credentials of the forms the chaincode and OpenADR take', () => {
    const made = Array.from({ length: 20 }, () => newVenCredentials());
    for (const { clientId, clientSecret, venId } of made) {
      expect(clientId)
        .to.match(/^[A-Za-z0-9_-]{22}$/)
        .and.match(CHAINCODE_CLIENT_ID);
      expect(clientSecret).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(venId)
        .to.match(/^ven-[0-9a-f]{24}$/)
        .and.match(OPENADR_OBJECT_ID);
    }
    for (const field of ['clientId', 'clientSecret', 'venId'] as const) {
      expect(new Set(made.map((credentials) => credentials[field])).size, field).to.equal(made.length);
    }
  });

  it('hashes with scrypt N=2^15, r=8, p=1, a 16-byte salt and a 32-byte hash, in base64', () => {
    expect(stored).to.include({ algorithm: 'scrypt', cost: 32_768, blockSize: 8, parallelization: 1 });
    expect(Object.keys(stored)).to.have.members([
      'algorithm',
      'cost',
      'blockSize',
      'parallelization',
      'salt',
      'hash',
    ]);
    expect(stored.salt).to.match(BASE64);
    expect(stored.hash).to.match(BASE64);
    expect(Buffer.from(stored.salt, 'base64')).to.have.length(16);
    expect(Buffer.from(stored.hash, 'base64')).to.have.length(32);
    const expected = scryptSync(secret, Buffer.from(stored.salt, 'base64'), 32, {
      N: 32_768,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    expect(Buffer.from(stored.hash, 'base64').equals(expected)).to.equal(true);
    expect(JSON.stringify(stored)).to.not.contain(secret);
  });

  it('salts every hash anew', async () => {
    const again = await hashVenSecret(secret);
    expect(again.salt).to.not.equal(stored.salt);
    expect(again.hash).to.not.equal(stored.hash);
    expect(await verifyVenSecret(secret, again)).to.equal(true);
  });

  it('verifies the right secret and refuses a wrong, altered or empty one', async () => {
    expect(await verifyVenSecret(secret, stored)).to.equal(true);
    expect(await verifyVenSecret(newVenCredentials().clientSecret, stored)).to.equal(false);
    expect(await verifyVenSecret(`${secret}x`, stored)).to.equal(false);
    expect(await verifyVenSecret(secret.slice(1), stored)).to.equal(false);
    expect(await verifyVenSecret('', stored)).to.equal(false);
  });

  it('refuses a tampered hash, salt or cost', async () => {
    const hash = Buffer.from(stored.hash, 'base64');
    hash[0] = (hash[0] ?? 0) ^ 1;
    const salt = Buffer.from(stored.salt, 'base64');
    salt[15] = (salt[15] ?? 0) ^ 1;
    for (const tampered of [
      { ...stored, hash: hash.toString('base64') },
      { ...stored, salt: salt.toString('base64') },
      { ...stored, cost: 16_384 },
      {
        ...stored,
        hash: Buffer.concat([Buffer.from(stored.hash, 'base64'), Buffer.alloc(32)]).toString('base64'),
      },
    ]) {
      expect(await verifyVenSecret(secret, tampered), JSON.stringify(tampered)).to.equal(false);
    }
  });

  it("refuses other algorithms and parameters out of the chaincode's bounds, or too costly, without hashing", async () => {
    const refused: [string, unknown][] = [
      ['another algorithm', { ...stored, algorithm: 'bcrypt' }],
      ['no algorithm', { ...stored, algorithm: undefined }],
      ['cost below 2^14', { ...stored, cost: 8192 }],
      ['cost above 2^20', { ...stored, cost: 2 ** 21 }],
      ['cost not a power of two', { ...stored, cost: 49_152 }],
      ['cost as a string', { ...stored, cost: '32768' }],
      ['cost not whole', { ...stored, cost: 32_768.5 }],
      ['block size below 8', { ...stored, blockSize: 4 }],
      ['block size above 32', { ...stored, blockSize: 33 }],
      ['parallelization 0', { ...stored, parallelization: 0 }],
      ['parallelization above 16', { ...stored, parallelization: 17 }],
      ['more work than 16 times the gateway’s own', { ...stored, cost: 2 ** 20 }],
      ['more work through parallelization', { ...stored, blockSize: 32, parallelization: 16 }],
      ['a salt shorter than 16 bytes', { ...stored, salt: Buffer.alloc(15).toString('base64') }],
      ['a salt longer than 64 bytes', { ...stored, salt: Buffer.alloc(65).toString('base64') }],
      ['a hash shorter than 32 bytes', { ...stored, hash: Buffer.alloc(31).toString('base64') }],
      ['a hash that is not base64', { ...stored, hash: `${stored.hash.slice(0, -2)}-_` }],
      ['no hash', { ...stored, hash: undefined }],
    ];
    const started = Date.now();
    for (const [what, hash] of refused) {
      expect(await verifyVenSecret(secret, hash as VenSecretHash), what).to.equal(false);
    }
    // Refused before scrypt ran: none of these cost a hash.
    expect(Date.now() - started).to.be.below(500);
  });

  it('verifies hashes with other parameters within the bounds', async () => {
    const salt = Buffer.alloc(24, 7);
    const hash = scryptSync(secret, salt, 48, { N: 16_384, r: 10, p: 2, maxmem: 64 * 1024 * 1024 });
    const other: VenSecretHash = {
      algorithm: 'scrypt',
      cost: 16_384,
      blockSize: 10,
      parallelization: 2,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
    };
    expect(await verifyVenSecret(secret, other)).to.equal(true);
    expect(await verifyVenSecret('wrong', other)).to.equal(false);
  });
});
