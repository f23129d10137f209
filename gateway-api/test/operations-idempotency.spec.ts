import { expect } from 'chai';
import type { X509Certificate } from 'node:crypto';
import { HttpError } from '../src/http/errors';
import { MemoryIdempotencyStore } from '../src/plugins/idempotency';
import { OperationsApp } from './operations-support';

const OPEN_SLOT = {
  slotId: 'slot-1',
  deadline: '2030-01-01T10:00:00Z',
  prices: { default: { lower: 10, upper: 20 } },
};

describe('operations: idempotent POSTs', () => {
  let gateway: OperationsApp;
  let dso: X509Certificate;

  beforeEach(async () => {
    gateway = await OperationsApp.create({ operations: { metrics: { processMetrics: false } } });
    dso = await gateway.pki.role('DSOMSP', 'dso');
    gateway.ledger.on('OpenSlot', { ...OPEN_SLOT, status: 'OPEN' });
  });

  afterEach(() => gateway.app.close());

  const open = (key: string | undefined, payload: unknown = OPEN_SLOT, certificate = dso) =>
    gateway.request(certificate, {
      method: 'POST',
      url: '/v1/slots',
      payload: payload as Record<string, unknown>,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });

  it('runs the first request and replays its stored answer to a retry without submitting again', async () => {
    const first = await open('open-slot-1');
    expect(first.statusCode).to.equal(201);
    expect(first.headers['idempotent-replay']).to.equal(undefined);

    const retry = await open('open-slot-1');
    expect(retry.statusCode).to.equal(201);
    expect(retry.headers['idempotent-replay']).to.equal('true');
    expect(retry.headers['x-transaction-id']).to.equal(first.headers['x-transaction-id']);
    expect(retry.headers['content-type']).to.equal(first.headers['content-type']);
    expect(retry.json()).to.deep.equal(first.json());
    expect(gateway.ledger.callsOf('OpenSlot')).to.have.length(1);

    // The same JSON with its members in another order is the same request.
    const reordered = await open('open-slot-1', {
      prices: OPEN_SLOT.prices,
      deadline: OPEN_SLOT.deadline,
      slotId: OPEN_SLOT.slotId,
    });
    expect(reordered.headers['idempotent-replay']).to.equal('true');

    const metrics = (await gateway.request(undefined, { method: 'GET', url: '/metrics' })).body;
    expect(metrics).to.match(/hems_gateway_fabric_submits_total\{outcome="success",code=""\} 1\n/);
  });

  it('refuses the same key with a different body (422), and scopes keys by caller', async () => {
    expect((await open('k-1')).statusCode).to.equal(201);
    const different = await open('k-1', { ...OPEN_SLOT, deadline: '2030-01-01T11:00:00Z' });
    expect(different.statusCode).to.equal(422);
    expect(different.json()).to.deep.include({ statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' });

    const otherOperator = await gateway.pki.role('DSOMSP', 'dso', 'dso-2');
    const other = await open('k-1', OPEN_SLOT, otherOperator);
    expect(other.statusCode).to.equal(201);
    expect(other.headers['idempotent-replay']).to.equal(undefined);
    expect(gateway.ledger.callsOf('OpenSlot')).to.have.length(2);
  });

  it('refuses a duplicate while the first request is still running (409)', async () => {
    let finish: () => void = () => undefined;
    gateway.ledger.on(
      'OpenSlot',
      () =>
        new Promise((resolve) => {
          finish = () => resolve(OPEN_SLOT);
        }),
    );
    const first = open('slow');
    while (gateway.ledger.callsOf('OpenSlot').length === 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const concurrent = await open('slow');
    expect(concurrent.statusCode).to.equal(409);
    expect(concurrent.json()).to.deep.include({ code: 'IDEMPOTENCY_KEY_IN_USE' });
    finish();
    expect((await first).statusCode).to.equal(201);
    expect((await open('slow')).headers['idempotent-replay']).to.equal('true');
    expect(gateway.ledger.callsOf('OpenSlot')).to.have.length(1);
  });

  it('stores refusals and failures of created transactions, but frees the key when none was created', async () => {
    gateway.ledger.on('OpenSlot', () => {
      throw new HttpError(504, 'COMMIT_STATUS_UNKNOWN', 'unknown', 'c'.repeat(64));
    });
    expect((await open('unknown')).statusCode).to.equal(504);
    const replay = await open('unknown');
    expect(replay.statusCode).to.equal(504);
    expect(replay.headers['idempotent-replay']).to.equal('true');
    expect(replay.json()).to.deep.include({ transactionId: 'c'.repeat(64) });
    expect(gateway.ledger.callsOf('OpenSlot')).to.have.length(1);

    gateway.ledger.on('OpenSlot', () => {
      throw new HttpError(503, 'LEDGER_UNAVAILABLE', 'the Fabric network did not answer');
    });
    expect((await open('down')).statusCode).to.equal(503);
    gateway.ledger.on('OpenSlot', OPEN_SLOT);
    const retried = await open('down');
    expect(retried.statusCode).to.equal(201);
    expect(retried.headers['idempotent-replay']).to.equal(undefined);
  });

  it('refuses malformed keys and leaves requests without a key alone', async () => {
    for (const key of ['', 'with space', 'x'.repeat(129), 'tab\tkey', 'é']) {
      const response = await gateway.request(dso, {
        method: 'POST',
        url: '/v1/slots',
        payload: OPEN_SLOT,
        headers: { 'idempotency-key': key },
      });
      expect(response.statusCode, JSON.stringify(key)).to.equal(400);
      expect(response.json()).to.deep.include({ code: 'INVALID_REQUEST' });
    }
    expect((await open('x'.repeat(128))).statusCode).to.equal(201);
    expect((await open(undefined)).statusCode).to.equal(201);
    expect((await open(undefined)).statusCode).to.equal(201);
    expect(gateway.ledger.callsOf('OpenSlot')).to.have.length(3);
  });
});

describe('operations: in-memory idempotency store', () => {
  const response = { statusCode: 201, headers: { 'content-type': 'application/json' }, body: '{}' };

  it('forgets completed responses after the TTL and abandoned claims after the lease', async () => {
    let now = 0;
    const store = new MemoryIdempotencyStore({ ttlMs: 1000, leaseMs: 100, now: () => now });
    expect(await store.claim('a', 'h')).to.equal(undefined);
    expect(await store.claim('a', 'h')).to.deep.equal({ state: 'running', bodyHash: 'h' });
    await store.complete('a', response);
    now = 999;
    expect(await store.claim('a', 'h')).to.deep.equal({ state: 'completed', bodyHash: 'h', response });
    now = 1000;
    expect(await store.claim('a', 'h')).to.equal(undefined);

    expect(await store.claim('b', 'h')).to.equal(undefined);
    now = 1100;
    expect(await store.claim('b', 'h')).to.equal(undefined);
  });

  it('keeps at most maxEntries records, dropping the oldest', async () => {
    const store = new MemoryIdempotencyStore({ maxEntries: 2 });
    await store.claim('a', 'h');
    await store.claim('b', 'h');
    await store.claim('c', 'h');
    expect(store.size).to.equal(2);
    expect(await store.claim('a', 'h')).to.equal(undefined);
    expect(await store.claim('c', 'h')).to.deep.include({ state: 'running' });
  });

  it('keeps at most maxBytes of records, dropping the oldest', async () => {
    const large = { ...response, body: 'x'.repeat(1000) };
    const store = new MemoryIdempotencyStore({ maxBytes: 2500 });
    for (const key of ['a', 'b', 'c']) {
      await store.claim(key, 'h');
      await store.complete(key, large);
    }
    expect(store.size).to.equal(2);
    expect(await store.claim('a', 'h')).to.equal(undefined);
  });

  it('frees a released key', async () => {
    const store = new MemoryIdempotencyStore();
    await store.claim('a', 'h');
    await store.release('a');
    expect(await store.claim('a', 'other')).to.equal(undefined);
  });
});

describe('operations: GET /v1/transactions/:txId/status', () => {
  let gateway: OperationsApp;

  beforeEach(async () => {
    gateway = await OperationsApp.create({
      mspId: 'UtilityAMSP',
      identities: ['relay'],
      operations: { metrics: { processMetrics: false } },
    });
  });

  afterEach(() => gateway.app.close());

  const transaction = (transactionId: string, validationCode: string) => ({
    transactionId,
    blockNumber: 12,
    timestamp: '2030-01-01T10:00:00.000Z',
    creatorMspId: 'UtilityAMSP',
    creatorRole: 'relay',
    endorsingOrganizations: ['UtilityAMSP'],
    validationCode,
    function: 'SubmitForecast',
  });

  it('answers any authenticated caller with the commit status only', async () => {
    const device = await gateway.pki.device('UtilityAMSP', 'home-1', 'bus-1');
    gateway.ledger.transactions.set('a'.repeat(64), transaction('a'.repeat(64), 'VALID'));
    gateway.ledger.transactions.set('b'.repeat(64), transaction('b'.repeat(64), 'MVCC_READ_CONFLICT'));

    const valid = await gateway.request(device, {
      method: 'GET',
      url: `/v1/transactions/${'a'.repeat(64)}/status`,
    });
    expect(valid.statusCode).to.equal(200);
    expect(valid.json()).to.deep.equal({
      transactionId: 'a'.repeat(64),
      committed: true,
      validationCode: 'VALID',
      blockNumber: 12,
      timestamp: '2030-01-01T10:00:00.000Z',
    });

    const invalid = await gateway.request(device, {
      method: 'GET',
      url: `/v1/transactions/${'b'.repeat(64)}/status`,
    });
    expect(invalid.json()).to.deep.include({ committed: false, validationCode: 'MVCC_READ_CONFLICT' });
  });

  it('answers 404 for a transaction not on the ledger, 400 for a malformed id, 401 without a certificate', async () => {
    const dso = await gateway.pki.role('DSOMSP', 'dso');
    const missing = await gateway.request(dso, {
      method: 'GET',
      url: `/v1/transactions/${'d'.repeat(64)}/status`,
    });
    expect(missing.statusCode).to.equal(404);
    expect(missing.json()).to.deep.include({ code: 'NOT_FOUND' });
    expect(
      (await gateway.request(dso, { method: 'GET', url: '/v1/transactions/xyz/status' })).statusCode,
    ).to.equal(400);
    expect(
      (await gateway.request(undefined, { method: 'GET', url: `/v1/transactions/${'a'.repeat(64)}/status` }))
        .statusCode,
    ).to.equal(401);
  });
});
