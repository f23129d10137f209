import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { identities, type TestIdentity } from './support/fake-ledger';
import { createCa, issueDevice, type TestDevice } from './support/pki';
import { callersOtherThan, expectRefusal, Scenario, UTILITY_A, UTILITY_B } from './support/scenario';

/**
 * OpenADR VEN credentials in the utility's own collection: RegisterVen and RevokeVen (the
 * utility's admin), GetVen and ListVens (its relay or admin), all on the utility's own peer.
 */

const COLLECTION_A = `${UTILITY_A}PrivateCollection`;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface VenInput {
  clientId: unknown;
  venId: unknown;
  venName: unknown;
  certificate: unknown;
  secret: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A random client id, as the gateway makes one: 32 URL-safe characters. */
const newClientId = (): string => randomBytes(24).toString('base64url');

function venInput(device: TestDevice, overrides: Partial<VenInput> = {}): VenInput {
  return {
    clientId: newClientId(),
    venId: `ven-${randomBytes(4).toString('hex')}`,
    venName: 'Heat pump VEN',
    certificate: device.pem,
    secret: {
      algorithm: 'scrypt',
      cost: 16_384,
      blockSize: 8,
      parallelization: 1,
      salt: randomBytes(16).toString('base64'),
      hash: randomBytes(32).toString('base64'),
    },
    ...overrides,
  };
}

/**
 * What must never reach anything other orgs see of a VEN: its client id, secret hash and salt, VEN
 * id and name, its home id and the home's certificate (the lines of it that are not the CA's, which
 * is public).
 */
function tracesOf(input: VenInput, home: TestDevice, caPem: string): string[] {
  const certificateLines = home.pem.split('\n').filter((line) => line.length > 40 && !caPem.includes(line));
  expect(certificateLines.length).to.be.greaterThan(3);
  return [
    String(input.clientId),
    String(input.secret.hash),
    String(input.secret.salt),
    String(input.venId),
    String(input.venName),
    home.homeId,
    ...certificateLines,
  ];
}

interface VenRecordView {
  clientId: string;
  venId: string;
  venName: string;
  homeId: string;
  bus: string;
  certificate: string;
  secret: Record<string, unknown>;
  createdAt: string;
  revokedAt?: string;
}

describe('OpenADR VEN credentials', () => {
  let s: Scenario;
  let device: TestDevice;

  const register = (
    ven: unknown,
    who: TestIdentity = identities.admin(UTILITY_A),
    peer = who.mspId,
  ): Promise<string> =>
    s.ledger.invoke(who, (ctx) => s.governance.RegisterVen(ctx), {
      peer,
      transient: ven === undefined ? {} : { ven: typeof ven === 'string' ? ven : JSON.stringify(ven) },
    });
  const revoke = (
    clientId: string | undefined,
    who: TestIdentity = identities.admin(UTILITY_A),
    peer = who.mspId,
  ): Promise<string> =>
    s.ledger.invoke(who, (ctx) => s.governance.RevokeVen(ctx), {
      peer,
      transient: clientId === undefined ? {} : { clientId },
    });
  const getVen = (
    clientId: string | undefined,
    who: TestIdentity = identities.relay(UTILITY_A),
    peer = who.mspId,
  ): Promise<VenRecordView> =>
    s.ledger.evaluateJson<VenRecordView>(who, (ctx) => s.governance.GetVen(ctx), {
      peer,
      transient: clientId === undefined ? {} : { clientId },
    });
  const listVens = (
    who: TestIdentity = identities.relay(UTILITY_A),
    peer = who.mspId,
  ): Promise<{ vens: Record<string, unknown>[] }> =>
    s.ledger.evaluateJson<{ vens: Record<string, unknown>[] }>(who, (ctx) => s.governance.ListVens(ctx), {
      peer,
    });
  const venKeys = (collection = COLLECTION_A): string[] =>
    [...s.ledger.collection(collection).keys()].filter((key) => key.includes('hems.ven'));

  beforeEach(async () => {
    s = await Scenario.create();
    device = await s.device(UTILITY_A, 'bus-1');
  });

  describe('RegisterVen', () => {
    it("stores the record in the utility's collection under the client id, and answers only registeredAt", async () => {
      const input = venInput(device);
      const answer = JSON.parse(await register(input)) as Record<string, unknown>;
      expect(answer).to.deep.equal({ registeredAt: s.ledger.now.toISOString() });

      const tx = s.ledger.lastCommitted();
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.events).to.deep.equal([]);
      expect(tx.endorsement).to.equal('single');
      expect(tx.endorser).to.equal(UTILITY_A);
      expect(tx.privateKeys).to.have.length(1);
      const key = tx.privateKeys[0]?.key ?? '';
      expect(tx.privateKeys[0]?.collection).to.equal(COLLECTION_A);
      expect(key.split('\u0000')).to.deep.equal(['', 'hems.ven', input.clientId, '']);
      expect(key).to.not.include(device.homeId).and.not.include('bus-1');

      const stored = JSON.parse(
        s.ledger.collection(COLLECTION_A).get(key)?.toString() ?? '{}',
      ) as VenRecordView;
      expect(stored).to.deep.equal({
        clientId: input.clientId,
        venId: input.venId,
        venName: input.venName,
        homeId: device.homeId,
        bus: 'bus-1',
        certificate: device.pem,
        secret: input.secret,
        createdAt: s.ledger.now.toISOString(),
      });
      expect(venKeys(`${UTILITY_B}PrivateCollection`)).to.deep.equal([]);
    });

    it('accepts the bounds of every field', async () => {
      const cases: Partial<VenInput>[] = [
        { clientId: 'a'.repeat(16), venId: 'v', venName: 'n' },
        { clientId: `${'A-_z9'.repeat(12)}abcd`, venId: 'V_-9'.repeat(32), venName: 'é'.repeat(128) },
      ];
      for (const overrides of cases) {
        await register(venInput(device, overrides));
      }
      const secrets: Record<string, unknown>[] = [
        { cost: 16_384, blockSize: 8, parallelization: 1, salt: randomBytes(16), hash: randomBytes(32) },
        { cost: 1_048_576, blockSize: 32, parallelization: 16, salt: randomBytes(64), hash: randomBytes(64) },
        { cost: 65_536, blockSize: 16, parallelization: 2, salt: randomBytes(33), hash: randomBytes(48) },
      ].map((secret) => ({
        algorithm: 'scrypt',
        ...secret,
        salt: (secret.salt as Buffer).toString('base64'),
        hash: (secret.hash as Buffer).toString('base64'),
      }));
      for (const secret of secrets) {
        await register(venInput(device, { secret }));
      }
      expect(venKeys()).to.have.length(5);
    });

    it('refuses a client id already registered, even for another home, and changes nothing', async () => {
      const input = venInput(device);
      await register(input);
      const other = await s.device(UTILITY_A, 'bus-2');
      const error = await expectRefusal(
        register(venInput(other, { clientId: input.clientId })),
        'CONFLICT',
        /a VEN with this client id is already registered/,
      );
      expect(error.message).to.not.include(String(input.clientId));
      expect((await getVen(input.clientId as string)).homeId).to.equal(device.homeId);
      expect(venKeys()).to.have.length(1);
    });

    it('refuses malformed ven JSON field by field, without echoing it, and writes nothing', async () => {
      const secret = (changes: Record<string, unknown>): Partial<VenInput> => ({
        secret: { ...venInput(device).secret, ...changes },
      });
      const cases: [Partial<VenInput> | string | undefined, RegExp][] = [
        [undefined, /transient field 'ven' is required/],
        ['{', /ven is not valid JSON/],
        ['[]', /ven must be/],
        [{ extra: 1 }, /ven has unknown field\(s\)/],
        [{ clientId: 'a'.repeat(15) }, /clientId must be 16-64 characters/],
        [{ clientId: 'a'.repeat(65) }, /clientId must be 16-64 characters/],
        [{ clientId: `${'a'.repeat(16)}!` }, /clientId must be 16-64 characters/],
        [{ clientId: `${'a'.repeat(16)}=` }, /clientId must be 16-64 characters/],
        [{ clientId: `${'a'.repeat(8)} ${'a'.repeat(8)}` }, /clientId must be 16-64 characters/],
        [{ clientId: 1234567890123456 }, /clientId must be a string/],
        [{ venId: '' }, /venId must be 1-128 characters/],
        [{ venId: 'v'.repeat(129) }, /venId must be 1-128 characters/],
        [{ venId: 'ven 1' }, /venId must be 1-128 characters/],
        [{ venId: 'ven.1' }, /venId must be 1-128 characters/],
        [{ venId: 'ven/1' }, /venId must be 1-128 characters/],
        [{ venId: 7 }, /venId must be a string/],
        [{ venName: '' }, /venName must be 1-128 characters/],
        [{ venName: 'n'.repeat(129) }, /venName must be 1-128 characters/],
        [{ venName: null }, /venName must be a string/],
        [{ certificate: 42 }, /certificate must be a string/],
        [{ certificate: 'garbage' }, /certificate/],
        [{ secret: 'hash' as unknown as Record<string, unknown> }, /secret must be/],
        [secret({ algorithm: 'argon2id' }), /secret.algorithm must be scrypt/],
        [secret({ pepper: 'x' }), /secret has unknown field\(s\)/],
        [secret({ cost: 49_152 }), /secret.cost must be a power of two/],
        [secret({ cost: 16_385 }), /secret.cost must be a power of two/],
        [secret({ cost: 8_192 }), /secret.cost must be between/],
        [secret({ cost: 2_097_152 }), /secret.cost must be between/],
        [secret({ cost: '16384' }), /secret.cost/],
        [secret({ blockSize: 7 }), /secret.blockSize/],
        [secret({ blockSize: 33 }), /secret.blockSize/],
        [secret({ parallelization: 0 }), /secret.parallelization/],
        [secret({ parallelization: 17 }), /secret.parallelization/],
        [secret({ salt: randomBytes(15).toString('base64') }), /secret.salt must be base64 of 16-64 bytes/],
        [secret({ salt: randomBytes(65).toString('base64') }), /secret.salt must be base64 of 16-64 bytes/],
        [secret({ salt: '!'.repeat(24) }), /secret.salt must be base64 of 16-64 bytes/],
        [secret({ salt: '' }), /secret.salt must be base64 of 16-64 bytes/],
        [secret({ hash: randomBytes(31).toString('base64') }), /secret.hash must be base64 of 32-64 bytes/],
        [secret({ hash: randomBytes(65).toString('base64') }), /secret.hash must be base64 of 32-64 bytes/],
      ];
      const committed = s.ledger.committed.length;
      for (const [overrides, pattern] of cases) {
        const ven =
          overrides === undefined || typeof overrides === 'string'
            ? overrides
            : { ...venInput(device), ...overrides };
        const error = await expectRefusal(register(ven), 'INVALID_ARGUMENT', pattern);
        if (ven !== undefined && typeof ven !== 'string') {
          for (const value of [ven.clientId, ven.secret.salt, ven.secret.hash]) {
            if (typeof value === 'string' && value.length > 8) {
              expect(error.message).to.not.include(value);
            }
          }
        }
      }
      expect(s.ledger.committed).to.have.length(committed);
      expect(venKeys()).to.deep.equal([]);
    });

    it("refuses a certificate of another org, a revoked, expired or rogue one, and a non-device's", async () => {
      const foreign = await s.device(UTILITY_B, 'bus-1');
      const revoked = await s.device(UTILITY_A, 'bus-1');
      await s.ledger.invoke(identities.admin(UTILITY_A), (ctx) =>
        s.governance.RevokeDeviceCertificate(ctx, revoked.serial, 'lost'),
      );
      const expired = await s.device(UTILITY_A, 'bus-1', {
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2026-01-01T00:00:00Z'),
      });
      const rogue = await issueDevice(await createCa(UTILITY_A), { homeId: 'home-rogue', bus: 'bus-1' });
      const relayCert = await s.device(UTILITY_A, 'bus-1', { role: 'relay' });
      const cases: [TestDevice, RegExp][] = [
        [foreign, /device certificate was not issued by a CA registered for UtilityAMSP/],
        [revoked, /device certificate has been revoked/],
        [expired, /device certificate is expired or not yet valid/],
        [rogue, /device certificate was not issued by a CA registered for UtilityAMSP/],
        [relayCert, /device certificate does not carry hems.role=hems/],
      ];
      for (const [certificateOf, pattern] of cases) {
        const error = await expectRefusal(register(venInput(certificateOf)), 'FORBIDDEN', pattern);
        expect(error.message).to.not.include(certificateOf.homeId);
      }
      // UtilityB's admin cannot register UtilityA's home at its own peer either.
      await expectRefusal(
        register(venInput(device), identities.admin(UTILITY_B)),
        'FORBIDDEN',
        /not issued by a CA registered for UtilityBMSP/,
      );
      expect(venKeys()).to.deep.equal([]);
      expect(venKeys(`${UTILITY_B}PrivateCollection`)).to.deep.equal([]);
    });

    it("refuses every caller but the utility's admin on its own peer", async () => {
      for (const { caller, peer } of callersOtherThan(['admin'])) {
        await expectRefusal(register(venInput(device), caller, peer), 'FORBIDDEN');
      }
      await expectRefusal(
        register(venInput(device), identities.admin(UTILITY_A), UTILITY_B),
        'FORBIDDEN',
        /peer of the caller's own organization/,
      );
      await expectRefusal(register(venInput(device), identities.ouOnlyAdmin(UTILITY_A)), 'FORBIDDEN');
      await expectRefusal(register(venInput(device), identities.admin('DSOMSP')), 'FORBIDDEN');
      await expectRefusal(register(venInput(device), identities.admin('RegulatorMSP')), 'FORBIDDEN');
      expect(venKeys()).to.deep.equal([]);
    });
  });

  describe('RevokeVen', () => {
    it('marks the record revoked, answers only revokedAt, and refuses a second revocation', async () => {
      const input = venInput(device);
      await register(input);
      const clientId = input.clientId as string;
      s.ledger.advance(60_000);
      const answer = JSON.parse(await revoke(clientId)) as Record<string, unknown>;
      expect(answer).to.deep.equal({ revokedAt: s.ledger.now.toISOString() });
      const tx = s.ledger.lastCommitted();
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.events).to.deep.equal([]);
      expect(tx.privateKeys.map((k) => k.key)).to.deep.equal([`\u0000hems.ven\u0000${clientId}\u0000`]);
      const record = await getVen(clientId);
      expect(record).to.include({ revokedAt: s.ledger.now.toISOString(), homeId: device.homeId });
      expect(record.createdAt).to.not.equal(record.revokedAt);
      expect(record.secret).to.deep.equal(input.secret);

      s.ledger.advance(60_000);
      await expectRefusal(revoke(clientId), 'CONFLICT', /this VEN is already revoked/);
      expect((await getVen(clientId)).revokedAt).to.equal(record.revokedAt);
      // A revoked client id stays taken.
      await expectRefusal(register(venInput(device, { clientId })), 'CONFLICT', /already registered/);
    });

    it('refuses an unknown, malformed or missing client id', async () => {
      await expectRefusal(revoke(newClientId()), 'NOT_FOUND', /no VEN with this client id is registered/);
      await expectRefusal(revoke('short'), 'INVALID_ARGUMENT', /clientId must be 16-64 characters/);
      await expectRefusal(revoke(`${'a'.repeat(20)}.`), 'INVALID_ARGUMENT', /clientId must be 16-64/);
      await expectRefusal(revoke('a'.repeat(65)), 'INVALID_ARGUMENT', /larger than 64 bytes/);
      await expectRefusal(revoke(undefined), 'INVALID_ARGUMENT', /transient field 'clientId' is required/);
    });

    it("refuses every caller but the utility's admin on its own peer, and another utility's admin", async () => {
      const input = venInput(device);
      await register(input);
      const clientId = input.clientId as string;
      for (const { caller, peer } of callersOtherThan(['admin'])) {
        await expectRefusal(revoke(clientId, caller, peer), 'FORBIDDEN');
      }
      await expectRefusal(revoke(clientId, identities.admin(UTILITY_A), UTILITY_B), 'FORBIDDEN');
      // Another utility's admin on its own peer finds no such VEN in its collection.
      await expectRefusal(revoke(clientId, identities.admin(UTILITY_B)), 'NOT_FOUND');
      expect(await getVen(clientId)).to.not.have.property('revokedAt');
    });
  });

  describe('GetVen and ListVens', () => {
    let inputs: VenInput[];

    beforeEach(async () => {
      const second = await s.device(UTILITY_A, 'bus-2');
      inputs = [venInput(device), venInput(second, { venName: 'EV charger' })];
      for (const input of inputs) {
        await register(input);
      }
      await revoke(inputs[1]?.clientId as string);
    });

    it('GetVen answers the full record, secret hash and certificate included, to the relay and the admin', async () => {
      for (const who of [identities.relay(UTILITY_A), identities.admin(UTILITY_A)]) {
        const record = await getVen(inputs[0]?.clientId as string, who);
        expect(record).to.deep.equal({
          clientId: inputs[0]?.clientId,
          venId: inputs[0]?.venId,
          venName: 'Heat pump VEN',
          homeId: device.homeId,
          bus: 'bus-1',
          certificate: device.pem,
          secret: inputs[0]?.secret,
          createdAt: s.ledger.now.toISOString(),
        });
      }
      expect(await getVen(inputs[1]?.clientId as string)).to.include({ bus: 'bus-2', venName: 'EV charger' });
      expect(await getVen(inputs[1]?.clientId as string)).to.have.property('revokedAt');
    });

    it('GetVen refuses an unknown, malformed or missing client id, and another utility finds nothing', async () => {
      await expectRefusal(getVen(newClientId()), 'NOT_FOUND', /no VEN with this client id/);
      await expectRefusal(getVen('bad id'), 'INVALID_ARGUMENT', /clientId must be 16-64/);
      await expectRefusal(getVen(undefined), 'INVALID_ARGUMENT', /clientId/);
      await expectRefusal(getVen(inputs[0]?.clientId as string, identities.relay(UTILITY_B)), 'NOT_FOUND');
      await expectRefusal(getVen(inputs[0]?.clientId as string, identities.admin(UTILITY_B)), 'NOT_FOUND');
    });

    it("ListVens answers the utility's VENs without secret hash or certificate", async () => {
      for (const who of [identities.relay(UTILITY_A), identities.admin(UTILITY_A)]) {
        const { vens } = await listVens(who);
        const byClient = new Map(vens.map((ven) => [ven.clientId, ven]));
        expect(vens).to.have.length(2);
        expect(byClient.get(inputs[0]?.clientId)).to.deep.equal({
          clientId: inputs[0]?.clientId,
          venId: inputs[0]?.venId,
          venName: 'Heat pump VEN',
          homeId: device.homeId,
          bus: 'bus-1',
          createdAt: s.ledger.now.toISOString(),
        });
        expect(byClient.get(inputs[1]?.clientId)).to.include({ venName: 'EV charger', bus: 'bus-2' });
        expect(byClient.get(inputs[1]?.clientId)).to.have.property('revokedAt');
        for (const ven of vens) {
          expect(ven).to.not.have.any.keys('secret', 'certificate');
        }
        const text = JSON.stringify(vens);
        for (const input of inputs) {
          expect(text).to.not.include(input.secret.hash).and.not.include(input.secret.salt);
        }
        expect(text).to.not.include('BEGIN CERTIFICATE');
      }
      expect((await listVens(identities.relay(UTILITY_B))).vens).to.deep.equal([]);
    });

    it("GetVen and ListVens refuse every caller but the utility's relay or admin on its own peer", async () => {
      const clientId = inputs[0]?.clientId as string;
      for (const { caller, peer } of callersOtherThan(['relay', 'admin'])) {
        await expectRefusal(getVen(clientId, caller, peer), 'FORBIDDEN');
        await expectRefusal(listVens(caller, peer), 'FORBIDDEN');
      }
      for (const who of [identities.relay(UTILITY_A), identities.admin(UTILITY_A)]) {
        await expectRefusal(getVen(clientId, who, UTILITY_B), 'FORBIDDEN', /own organization/);
        await expectRefusal(listVens(who, UTILITY_B), 'FORBIDDEN', /own organization/);
      }
    });
  });

  it('keeps client ids, secret hashes, home ids and VEN names out of everything other orgs see', async () => {
    const homes = [device, await s.device(UTILITY_A, 'bus-2')];
    const inputs = homes.map((home, index) => venInput(home, { venName: `Secret VEN name ${index}` }));
    for (const input of inputs) {
      await register(input);
    }
    await revoke(inputs[0]?.clientId as string);
    // Refusals too: a duplicate, a revoked twice, an unknown and malformed inputs.
    await expectRefusal(register(inputs[1]), 'CONFLICT');
    await expectRefusal(revoke(inputs[0]?.clientId as string), 'CONFLICT');
    await expectRefusal(getVen(newClientId()), 'NOT_FOUND');
    await expectRefusal(
      register({ ...venInput(device), secret: { ...inputs[1]?.secret, cost: 3 } }),
      'INVALID_ARGUMENT',
    );
    await expectRefusal(register(venInput(device, { venId: 'bad id' })), 'INVALID_ARGUMENT');
    await expectRefusal(
      register(venInput(device), identities.admin(UTILITY_B)),
      'FORBIDDEN',
      /not issued by a CA registered for UtilityBMSP/,
    );
    await getVen(inputs[1]?.clientId as string);
    await listVens();

    const venTxs = s.ledger.committedWithPrivateKey('hems.ven');
    expect(venTxs).to.have.length(3);
    for (const tx of venTxs) {
      expect(tx.publicWrites).to.deep.equal([]);
      expect(tx.events).to.deep.equal([]);
      expect(tx.endorsement).to.equal('single');
      expect(Object.keys(JSON.parse(tx.response) as object)).to.satisfy(
        (keys: string[]) =>
          JSON.stringify(keys) === '["registeredAt"]' || JSON.stringify(keys) === '["revokedAt"]',
      );
      for (const { key } of tx.privateKeys) {
        for (const home of homes) {
          expect(key).to.not.include(home.homeId);
        }
      }
    }

    const surface = s.ledger.publicSurface();
    for (const [index, home] of homes.entries()) {
      const input = inputs[index];
      expect(input).to.not.equal(undefined);
      for (const trace of tracesOf(input ?? venInput(home), home, s.ca(UTILITY_A).pem)) {
        expect(surface, `"${trace}" visible`).to.not.include(trace);
      }
      expect(surface.toUpperCase()).to.not.include(home.serial);
    }
    // The hashed private keys cannot be tied to a home: no key form of a home id was written.
    const keyHashes = s.ledger.committed.flatMap((tx) => tx.privateWriteHashes.map((h) => h.keyHash));
    for (const home of homes) {
      for (const candidate of [
        `\u0000hems.ven\u0000${home.homeId}\u0000`,
        `\u0000hems.ven\u0000${sha256(home.homeId)}\u0000`,
      ]) {
        expect(keyHashes).to.not.include(sha256(candidate));
      }
    }
  });
});
