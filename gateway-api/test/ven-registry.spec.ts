import { expect } from 'chai';
import { HttpError } from '../src/http/errors';
import type { TransactionOptions } from '../src/ledger/ports';
import { VenRegistry, type VenRecord } from '../src/services/ven-registry';
import type { VenSecretHash } from '../src/services/ven-secrets';
import { refusal, FakeLedger } from './support/fake-ledger';
import { ledgerCall, rejectionOf } from './support/expectations';

const CLIENT_ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const OTHER_CLIENT_ID = 'BBBBBBBBBBBBBBBBBBBBBB';

const SECRET_HASH: VenSecretHash = {
  algorithm: 'scrypt',
  cost: 32_768,
  blockSize: 8,
  parallelization: 1,
  salt: Buffer.alloc(16, 1).toString('base64'),
  hash: Buffer.alloc(32, 2).toString('base64'),
};

function record(clientId: string, revokedAt?: string): VenRecord {
  return {
    clientId,
    venId: `ven-${clientId.slice(0, 8)}`,
    venName: 'home-a-101',
    homeId: 'home-a-101',
    bus: 'bus-1',
    certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    secret: SECRET_HASH,
    createdAt: '2026-11-20T10:00:00.000Z',
    ...(revokedAt === undefined ? {} : { revokedAt }),
  };
}

const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

/** The utility's collection as GetVen reads it, by client id. */
function answerGetVen(ledger: FakeLedger, records: Map<string, VenRecord>): void {
  ledger.on('GetVen', (options: TransactionOptions) => {
    const found = records.get(text(options.transientData?.clientId));
    if (found === undefined) {
      throw refusal('NOT_FOUND', 'no VEN with this client id is registered');
    }
    return found;
  });
}

describe('VEN registry over the ledger', () => {
  let ledger: FakeLedger;
  let records: Map<string, VenRecord>;
  let clock: number;
  let registry: VenRegistry;

  beforeEach(() => {
    ledger = new FakeLedger('UtilityAMSP', ['relay', 'meter', 'admin']);
    records = new Map([[CLIENT_ID, record(CLIENT_ID)]]);
    answerGetVen(ledger, records);
    clock = 1_000_000;
    registry = new VenRegistry(ledger, { now: () => clock });
  });

  describe('find', () => {
    it("reads a VEN with GetVen as the relay on the utility's own peer, the client id in transient data only", async () => {
      expect(await registry.find(CLIENT_ID)).to.deep.equal(record(CLIENT_ID));
      expect(ledger.calls).to.have.length(1);
      const [call] = ledger.calls;
      expect(call).to.deep.include(ledgerCall('relay', 'governance', 'evaluate', 'GetVen'));
      expect(call?.options.arguments).to.equal(undefined);
      expect(Object.keys(call?.options.transientData ?? {})).to.deep.equal(['clientId']);
      expect(text(call?.options.transientData?.clientId)).to.equal(CLIENT_ID);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    });

    it('reads as the admin on a gateway without the relay identity', async () => {
      const adminOnly = new FakeLedger('UtilityAMSP', ['admin']);
      answerGetVen(adminOnly, records);
      expect(await new VenRegistry(adminOnly).find(CLIENT_ID)).to.deep.equal(record(CLIENT_ID));
      expect(adminOnly.calls[0]).to.deep.include(ledgerCall('admin', 'governance', 'evaluate', 'GetVen'));
      const neither = new FakeLedger('DSOMSP', ['dso', 'market']);
      const error = await rejectionOf(new VenRegistry(neither).find(CLIENT_ID), HttpError);
      expect(error).to.include({ statusCode: 503, code: 'UNAVAILABLE' });
      expect(neither.calls).to.deep.equal([]);
    });

    it('answers from its cache within cacheMs, then asks the peer again', async () => {
      await registry.find(CLIENT_ID);
      clock += 4999;
      expect(await registry.find(CLIENT_ID)).to.deep.equal(record(CLIENT_ID));
      expect(ledger.callsOf('GetVen')).to.have.length(1);
      records.set(CLIENT_ID, record(CLIENT_ID, '2026-11-20T11:00:00.000Z'));
      clock += 1;
      expect((await registry.find(CLIENT_ID))?.revokedAt).to.equal('2026-11-20T11:00:00.000Z');
      expect(ledger.callsOf('GetVen')).to.have.length(2);
    });

    it('remembers misses (NOT_FOUND) for cacheMs too, as undefined', async () => {
      expect(await registry.find(OTHER_CLIENT_ID)).to.equal(undefined);
      expect(await registry.find(OTHER_CLIENT_ID)).to.equal(undefined);
      expect(ledger.callsOf('GetVen')).to.have.length(1);
      records.set(OTHER_CLIENT_ID, record(OTHER_CLIENT_ID));
      clock += 5000;
      expect(await registry.find(OTHER_CLIENT_ID)).to.deep.equal(record(OTHER_CLIENT_ID));
      expect(ledger.callsOf('GetVen')).to.have.length(2);
    });

    it('shares one evaluation between concurrent lookups of a client id', async () => {
      const found = await Promise.all([
        registry.find(CLIENT_ID),
        registry.find(CLIENT_ID),
        registry.find(CLIENT_ID),
      ]);
      expect(found).to.deep.equal([record(CLIENT_ID), record(CLIENT_ID), record(CLIENT_ID)]);
      expect(ledger.callsOf('GetVen')).to.have.length(1);
    });

    it('asks the peer every time with cacheMs 0', async () => {
      const uncached = new VenRegistry(ledger, { cacheMs: 0 });
      await uncached.find(CLIENT_ID);
      await uncached.find(CLIENT_ID);
      expect(ledger.callsOf('GetVen')).to.have.length(2);
    });

    it('does not ask about client ids of the wrong form', async () => {
      for (const clientId of [
        '',
        'short',
        'x'.repeat(65),
        'AAAAAAAAAAAAAAAA AAAAA',
        'AAAAAAAAAAAAAAAA/AAAAA',
        'ÄAAAAAAAAAAAAAAAAAAAAA',
      ]) {
        expect(await registry.find(clientId), clientId).to.equal(undefined);
      }
      expect(ledger.calls).to.deep.equal([]);
    });

    it('does not remember a failed read, and maps refusals and failures to HttpErrors', async () => {
      ledger.on('GetVen', () => {
        throw new Error('14 UNAVAILABLE: connection refused');
      });
      const failure = await rejectionOf(registry.find(CLIENT_ID), HttpError);
      expect(failure.statusCode).to.equal(500);
      expect(failure.message).to.not.contain('connection refused');
      ledger.refuse('GetVen', 'FORBIDDEN', 'GetVen is for the relay or admin of the peer’s own utility');
      const forbidden = await rejectionOf(registry.find(CLIENT_ID), HttpError);
      expect(forbidden).to.include({
        statusCode: 403,
        code: 'FORBIDDEN',
        message: 'GetVen is for the relay or admin of the peer’s own utility',
      });
      answerGetVen(ledger, records);
      expect(await registry.find(CLIENT_ID)).to.deep.equal(record(CLIENT_ID));
      expect(ledger.callsOf('GetVen')).to.have.length(3);
    });

    it('refuses an answer about another VEN than asked for', async () => {
      ledger.on('GetVen', () => record(OTHER_CLIENT_ID));
      const error = await rejectionOf(registry.find(CLIENT_ID), HttpError);
      expect(error).to.include({ statusCode: 502, code: 'BAD_LEDGER_RESPONSE' });
    });

    it('keeps at most maxEntries records and misses, dropping the oldest', async () => {
      const small = new VenRegistry(ledger, { maxEntries: 2, now: () => clock });
      const ids = ['C', 'D', 'E'].map((letter) => letter.repeat(22));
      for (const id of ids) {
        await small.find(id);
      }
      await small.find(ids[2] ?? '');
      await small.find(ids[1] ?? '');
      expect(ledger.callsOf('GetVen')).to.have.length(3);
      await small.find(ids[0] ?? '');
      expect(ledger.callsOf('GetVen')).to.have.length(4);
    });
  });

  describe('register', () => {
    const registration = {
      clientId: OTHER_CLIENT_ID,
      venId: 'ven-abc',
      venName: 'Home A 101',
      certificate: record(CLIENT_ID).certificate,
      secret: SECRET_HASH,
    };

    it("submits RegisterVen as the admin to the utility's own peer, everything in transient `ven`", async () => {
      ledger.on('RegisterVen', { registeredAt: '2026-11-20T12:00:00.000Z' });
      expect(await registry.register(registration)).to.deep.equal({
        registeredAt: '2026-11-20T12:00:00.000Z',
      });
      const [call] = ledger.callsOf('RegisterVen');
      expect(call).to.deep.include(ledgerCall('admin', 'governance', 'submit', 'RegisterVen'));
      expect(call?.options.arguments).to.equal(undefined);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      expect(Object.keys(call?.options.transientData ?? {})).to.deep.equal(['ven']);
      expect(JSON.parse(text(call?.options.transientData?.ven))).to.deep.equal(registration);
    });

    it('sends only the fields RegisterVen takes', async () => {
      ledger.on('RegisterVen', { registeredAt: '2026-11-20T12:00:00.000Z' });
      await registry.register({ ...registration, clientSecret: 'in clear' } as typeof registration);
      const sent = text(ledger.callsOf('RegisterVen')[0]?.options.transientData?.ven);
      expect(Object.keys(JSON.parse(sent) as object)).to.have.members([
        'clientId',
        'venId',
        'venName',
        'certificate',
        'secret',
      ]);
      expect(sent).to.not.contain('in clear');
    });

    it('forgets a miss remembered before the registration', async () => {
      expect(await registry.find(OTHER_CLIENT_ID)).to.equal(undefined);
      ledger.on('RegisterVen', () => {
        records.set(OTHER_CLIENT_ID, record(OTHER_CLIENT_ID));
        return { registeredAt: '2026-11-20T12:00:00.000Z' };
      });
      await registry.register(registration);
      expect(await registry.find(OTHER_CLIENT_ID)).to.deep.equal(record(OTHER_CLIENT_ID));
    });

    it("maps the chaincode's refusals to HttpErrors with its code and message", async () => {
      for (const [code, message, status] of [
        ['CONFLICT', 'a VEN with this client id is already registered', 409],
        ['FORBIDDEN', 'certificate 0ABC of UtilityAMSP is revoked', 403],
        ['INVALID_ARGUMENT', 'venName must be 1-128 characters', 422],
      ] as const) {
        ledger.refuse('RegisterVen', code, message);
        const error = await rejectionOf(registry.register(registration), HttpError);
        expect(error).to.include({ statusCode: status, code, message });
      }
    });
  });

  describe('revoke', () => {
    it('submits RevokeVen as the admin with the client id in transient data, and drops the cached record', async () => {
      expect((await registry.find(CLIENT_ID))?.revokedAt).to.equal(undefined);
      ledger.on('RevokeVen', () => {
        records.set(CLIENT_ID, record(CLIENT_ID, '2026-11-20T13:00:00.000Z'));
        return { revokedAt: '2026-11-20T13:00:00.000Z' };
      });
      expect(await registry.revoke(CLIENT_ID)).to.deep.equal({ revokedAt: '2026-11-20T13:00:00.000Z' });
      const [call] = ledger.callsOf('RevokeVen');
      expect(call).to.deep.include(ledgerCall('admin', 'governance', 'submit', 'RevokeVen'));
      expect(call?.options.arguments).to.equal(undefined);
      expect(text(call?.options.transientData?.clientId)).to.equal(CLIENT_ID);
      expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
      // Within cacheMs, yet read anew.
      expect((await registry.find(CLIENT_ID))?.revokedAt).to.equal('2026-11-20T13:00:00.000Z');
      expect(ledger.callsOf('GetVen')).to.have.length(2);
    });

    it('maps NOT_FOUND to 404 and an earlier revocation to 409, dropping the cached record all the same', async () => {
      ledger.refuse('RevokeVen', 'NOT_FOUND', 'no VEN with this client id is registered');
      expect(await rejectionOf(registry.revoke(OTHER_CLIENT_ID), HttpError)).to.include({
        statusCode: 404,
        code: 'NOT_FOUND',
      });
      await registry.find(CLIENT_ID);
      records.set(CLIENT_ID, record(CLIENT_ID, '2026-11-20T13:00:00.000Z'));
      ledger.refuse('RevokeVen', 'CONFLICT', 'this VEN is already revoked');
      expect(await rejectionOf(registry.revoke(CLIENT_ID), HttpError)).to.include({
        statusCode: 409,
        code: 'CONFLICT',
        message: 'this VEN is already revoked',
      });
      expect((await registry.find(CLIENT_ID))?.revokedAt).to.equal('2026-11-20T13:00:00.000Z');
    });
  });

  describe('list', () => {
    it('lists the VENs with ListVens as the relay on its own peer', async () => {
      const summary = {
        clientId: CLIENT_ID,
        venId: 'ven-1',
        venName: 'home-a-101',
        homeId: 'home-a-101',
        bus: 'bus-1',
        createdAt: '2026-11-20T10:00:00.000Z',
      };
      ledger.on('ListVens', { vens: [summary] });
      expect(await registry.list()).to.deep.equal([summary]);
      const [call] = ledger.callsOf('ListVens');
      expect(call).to.deep.include(ledgerCall('relay', 'governance', 'evaluate', 'ListVens'));
      expect(call?.options).to.deep.equal({ endorsingOrganizations: ['UtilityAMSP'] });
      ledger.refuse('ListVens', 'FORBIDDEN', 'ListVens must be evaluated on the caller’s own peer');
      expect(await rejectionOf(registry.list(), HttpError)).to.include({
        statusCode: 403,
        code: 'FORBIDDEN',
      });
    });
  });
});
