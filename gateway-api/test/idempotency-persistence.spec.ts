import { expect } from 'chai';
import type { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IdempotencyStore } from '../src/plugins/idempotency';
import {
  FileIdempotencyStore,
  type FileIdempotencyStoreOptions,
} from '../src/services/idempotency-file-store';
import { FakeLedger } from './support/fake-ledger';
import { TestPki } from './support/pki';
import { OperationsApp } from './operations-support';

const OPEN_SLOT = {
  slotId: 'slot-1',
  deadline: '2030-01-01T10:00:00Z',
  prices: { default: { lower: 10, upper: 20 } },
};

const RESPONSE = { statusCode: 201, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };

/** The journal's lines, parsed; a line that does not parse fails the test. */
async function journalLines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('idempotency records across a gateway restart', () => {
  let folder: string;
  let file: string;
  let pki: TestPki;
  let dso: X509Certificate;
  /** Everything opened by a test, closed after it (a "crashed" gateway is only closed then). */
  let opened: { close(): Promise<unknown> }[];

  before(async () => {
    pki = await TestPki.create();
    dso = await pki.role('DSOMSP', 'dso');
  });

  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'hems-idempotency-'));
    file = path.join(folder, 'state', 'idempotency.jsonl');
    opened = [];
  });

  afterEach(async () => {
    for (const resource of opened.reverse()) {
      await resource.close().catch(() => undefined);
    }
    await rm(folder, { recursive: true, force: true });
  });

  const openStore = async (options: Partial<FileIdempotencyStoreOptions> = {}) => {
    const store = await FileIdempotencyStore.open({ file, ...options });
    opened.push(store);
    return store;
  };

  /** One gateway process over the state folder: a fresh ledger, the store loaded from the file. */
  const startGateway = async (
    options: Partial<FileIdempotencyStoreOptions> = {},
    runs: { count: number; gate: Promise<void> } = { count: 0, gate: Promise.resolve() },
  ) => {
    const store = await openStore(options);
    const ledger = new FakeLedger('DSOMSP', ['dso']).on('OpenSlot', { ...OPEN_SLOT, status: 'OPEN' });
    const gateway = await OperationsApp.create({
      pki,
      ledger,
      operations: { metrics: { processMetrics: false }, idempotency: { store } },
      routes: (app) => {
        // Answers without echoing its body, to show what reaches the journal.
        // A route whose signed payload's nonce makes a second run safe (as forecasts).
        app.post('/v1/test/nonce-protected', { config: { rerunInDoubt: true } }, async (_request, reply) => {
          runs.count += 1;
          await runs.gate;
          void reply.status(201).header('x-transaction-id', 'e'.repeat(64));
          return { accepted: runs.count };
        });
        app.post('/v1/test/private', (_request, reply) => {
          void reply.status(201).header('x-transaction-id', 'f'.repeat(64));
          return { accepted: true };
        });
      },
    });
    opened.push(gateway.app);
    const open = (key: string, payload: Record<string, unknown> = OPEN_SLOT) =>
      gateway.request(dso, {
        method: 'POST',
        url: '/v1/slots',
        payload,
        headers: { 'idempotency-key': key },
      });
    return { store, ledger, gateway, open, runs };
  };

  it('replays an answer recorded before a crash, without submitting again', async () => {
    const first = await startGateway();
    const answered = await first.open('open-slot-1');
    expect(answered.statusCode).to.equal(201);

    // Killed right after answering: the first process is never closed.
    const second = await startGateway();
    expect(second.store.recovery).to.deep.equal({ records: 1, inDoubt: 0, skippedLines: 0 });
    const retry = await second.open('open-slot-1');
    expect(retry.statusCode).to.equal(201);
    expect(retry.headers['idempotent-replay']).to.equal('true');
    expect(retry.headers['x-transaction-id']).to.equal(answered.headers['x-transaction-id']);
    expect(retry.json()).to.deep.equal(answered.json());
    expect(second.ledger.callsOf('OpenSlot')).to.have.length(0);

    // The same key with another body is still refused, and the journal is the owner's alone.
    const other = await second.open('open-slot-1', { ...OPEN_SLOT, deadline: '2030-01-01T11:00:00Z' });
    expect(other.json()).to.deep.include({ statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
  });

  it('runs an in-doubt key again on a route whose payload nonce protects the ledger (forecasts)', async () => {
    const first = await startGateway({}, { count: 0, gate: new Promise<void>(() => undefined) });
    const request = {
      method: 'POST' as const,
      url: '/v1/test/nonce-protected',
      payload: { nonce: 'n-1' },
      headers: { 'idempotency-key': 'forecast-1' },
    };
    void first.gateway.request(dso, request);
    while (first.runs.count === 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The gateway dies mid-request; after the restart the retry runs (the nonce decides).
    const second = await startGateway();
    expect(second.store.recovery.inDoubt).to.equal(1);
    const retry = await second.gateway.request(dso, request);
    expect(retry.statusCode).to.equal(201);
    expect(second.runs.count).to.equal(1);
    const again = await second.gateway.request(dso, request);
    expect(again.headers['idempotent-replay']).to.equal('true');
    expect(second.runs.count).to.equal(1);
  });

  it('answers a key that was running at the crash 409 IDEMPOTENCY_KEY_IN_DOUBT, never running it again', async () => {
    const first = await startGateway();
    let finish: (() => void) | undefined;
    first.ledger.on(
      'OpenSlot',
      () =>
        new Promise((resolve) => {
          finish = () => resolve({ ...OPEN_SLOT, status: 'OPEN' });
        }),
    );
    const pending = first.open('open-slot-1');
    while (first.ledger.callsOf('OpenSlot').length === 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }

    // The gateway dies while the transaction is on its way: its answer is never recorded.
    const second = await startGateway();
    expect(second.store.recovery).to.deep.equal({ records: 1, inDoubt: 1, skippedLines: 0 });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const retry = await second.open('open-slot-1');
      expect(retry.statusCode).to.equal(409);
      expect(retry.json()).to.deep.include({ statusCode: 409, code: 'IDEMPOTENCY_KEY_IN_DOUBT' });
      expect(retry.json<{ message: string }>().message).to.match(/new Idempotency-Key/);
    }
    expect(second.ledger.callsOf('OpenSlot')).to.have.length(0);
    // Another body under the key is still a reuse; a new key runs.
    const reused = await second.open('open-slot-1', { ...OPEN_SLOT, slotId: 'slot-2' });
    expect(reused.json()).to.deep.include({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await second.open('open-slot-1-again')).statusCode).to.equal(201);
    expect(second.ledger.callsOf('OpenSlot')).to.have.length(1);

    // Still in doubt after a further restart: the state is written back at each start.
    const third = await startGateway();
    expect(third.store.recovery.inDoubt).to.equal(1);
    expect((await third.open('open-slot-1')).json()).to.deep.include({ code: 'IDEMPOTENCY_KEY_IN_DOUBT' });
    finish?.();
    await pending;
  });

  it('frees a key released before the crash, so its retry runs', async () => {
    const first = await startGateway();
    first.ledger.on('OpenSlot', () => Promise.reject(new Error('peer unreachable')));
    expect((await first.open('down')).statusCode).to.equal(500);

    const second = await startGateway();
    expect(second.store.recovery.records).to.equal(0);
    const retry = await second.open('down');
    expect(retry.statusCode).to.equal(201);
    expect(retry.headers['idempotent-replay']).to.equal(undefined);
  });

  it('never writes a request body value or the raw key, only what the caller was answered', async () => {
    const { gateway } = await startGateway();
    const secret = 'home-7c1e-private-reading-4242';
    const key = 'device-key-2f9d8a';
    const response = await gateway.request(dso, {
      method: 'POST',
      url: '/v1/test/private',
      payload: { homeId: secret, readings: [secret] },
      headers: { 'idempotency-key': key },
    });
    expect(response.statusCode).to.equal(201);

    const text = await readFile(file, 'utf8');
    expect(text).to.not.include(secret);
    expect(text).to.not.include(key);
    expect(text).to.not.include(dso.serialNumber);
    const [claim, completed] = await journalLines(file);
    expect(claim).to.have.keys('key', 'state', 'bodyHash', 'since', 'expiresAt');
    expect(claim?.state).to.equal('running');
    expect(completed?.state).to.equal('completed');
    expect(completed?.response).to.deep.equal({
      statusCode: 201,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-transaction-id': 'f'.repeat(64) },
      body: '{"accepted":true}',
    });
  });

  it('closes its store with the app, after in-flight answers are recorded', async () => {
    const { store, gateway, open } = await startGateway();
    expect((await open('k')).statusCode).to.equal(201);
    await gateway.app.close();
    let refused: unknown;
    await store.claim('x', 'h').catch((error: unknown) => {
      refused = error;
    });
    expect(refused).to.be.instanceOf(Error);
    expect((await openStore()).recovery.records).to.equal(1);
  });

  it('answers 503 IDEMPOTENCY_UNAVAILABLE without running the handler when a claim cannot be recorded', async () => {
    const broken: IdempotencyStore = {
      claim: () => Promise.reject(new Error('disk full')),
      complete: () => Promise.resolve(),
      release: () => Promise.resolve(),
    };
    const ledger = new FakeLedger('DSOMSP', ['dso']).on('OpenSlot', { ...OPEN_SLOT, status: 'OPEN' });
    const gateway = await OperationsApp.create({
      pki,
      ledger,
      operations: { metrics: { processMetrics: false }, idempotency: { store: broken } },
    });
    opened.push(gateway.app);
    const response = await gateway.request(dso, {
      method: 'POST',
      url: '/v1/slots',
      payload: OPEN_SLOT,
      headers: { 'idempotency-key': 'k' },
    });
    expect(response.statusCode).to.equal(503);
    expect(response.json()).to.deep.include({ code: 'IDEMPOTENCY_UNAVAILABLE' });
    expect(ledger.callsOf('OpenSlot')).to.have.length(0);
  });
});

describe('file idempotency store', () => {
  let folder: string;
  let file: string;
  let now: number;
  let stores: FileIdempotencyStore[];

  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'hems-idempotency-store-'));
    file = path.join(folder, 'idempotency.jsonl');
    now = 1_000_000;
    stores = [];
  });

  afterEach(async () => {
    for (const store of stores) {
      await store.close().catch(() => undefined);
    }
    await rm(folder, { recursive: true, force: true });
  });

  const openStore = async (options: Partial<FileIdempotencyStoreOptions> = {}) => {
    const store = await FileIdempotencyStore.open({ file, ttlMs: 1000, now: () => now, ...options });
    stores.push(store);
    return store;
  };

  it('forgets answers and in-doubt keys after the TTL, also across restarts', async () => {
    const store = await openStore();
    expect(await store.claim('answered', 'h')).to.equal(undefined);
    await store.complete('answered', RESPONSE);
    now += 500;
    expect(await store.claim('crashed', 'h')).to.equal(undefined);

    now += 400;
    const early = await openStore();
    expect(early.recovery).to.deep.equal({ records: 2, inDoubt: 1, skippedLines: 0 });
    expect(await early.claim('answered', 'h')).to.deep.equal({
      state: 'completed',
      bodyHash: 'h',
      response: RESPONSE,
    });
    expect(await early.claim('crashed', 'h')).to.deep.equal({ state: 'in-doubt', bodyHash: 'h' });

    // 1000 ms after its answer the first key is gone; the in-doubt one lasts 1000 ms from its claim.
    now += 100;
    const later = await openStore();
    expect(later.recovery).to.deep.equal({ records: 1, inDoubt: 1, skippedLines: 0 });
    expect(await later.claim('answered', 'h')).to.equal(undefined);
    await later.release('answered');
    now += 500;
    const last = await openStore();
    expect(last.recovery.inDoubt).to.equal(0);
    expect((await journalLines(file)).map((line) => line.key)).to.not.include('crashed');
  });

  it('compacts the journal as it grows, keeping every live record and the bounds', async () => {
    const store = await openStore({ ttlMs: 60_000, compactBytes: 4096, maxEntries: 50 });
    let largest = 0;
    for (let index = 0; index < 400; index += 1) {
      const key = `key-${index}`;
      await store.claim(key, 'h');
      if (index % 3 === 0) {
        await store.release(key);
      } else {
        await store.complete(key, RESPONSE);
      }
      largest = Math.max(largest, store.journalBytes);
    }
    // 50 at most; the last key (399) was released again.
    expect(store.size).to.equal(49);
    await store.compact();
    // Never more than twice the live records (or compactBytes), plus a line written meanwhile.
    expect(largest).to.be.below(Math.max(4096, 2 * store.journalBytes) + 512);
    const lines = await journalLines(file);
    expect(lines).to.have.length(49);
    expect(lines.every((line) => line.state === 'completed')).to.equal(true);
    expect(lines.at(-1)?.key).to.equal('key-398');

    now += 60_000;
    await store.compact();
    expect(await readFile(file, 'utf8')).to.equal('');
  });

  it('tolerates a line torn by a crash mid-write, and writes a clean journal again', async () => {
    const store = await openStore();
    await store.claim('a', 'h');
    await store.complete('a', RESPONSE);
    await store.claim('b', 'h');
    const complete = (await readFile(file, 'utf8')).split('\n')[1] ?? '';
    await writeFile(file, `${await readFile(file, 'utf8')}not json\n${complete.slice(0, 40)}`);

    const reopened = await openStore();
    expect(reopened.recovery).to.deep.equal({ records: 2, inDoubt: 1, skippedLines: 2 });
    expect(await reopened.claim('a', 'h')).to.deep.include({ state: 'completed' });
    expect(await reopened.claim('c', 'h')).to.equal(undefined);
    // The torn piece is gone, so the next line did not join it.
    expect((await journalLines(file)).map((line) => line.key)).to.deep.equal(['a', 'b', 'c']);
    expect((await openStore()).recovery).to.deep.equal({ records: 3, inDoubt: 2, skippedLines: 0 });
  });

  it('puts concurrent claims on disk together, each before its promise resolves', async () => {
    const store = await openStore();
    const keys = Array.from({ length: 50 }, (_, index) => `k-${index}`);
    const claims = await Promise.all(keys.map((key) => store.claim(key, 'h')));
    expect(claims.every((claim) => claim === undefined)).to.equal(true);
    expect(await store.claim('k-7', 'h')).to.deep.equal({ state: 'running', bodyHash: 'h' });
    expect((await openStore()).recovery).to.deep.equal({ records: 50, inDoubt: 50, skippedLines: 0 });
  });

  it('frees a claim it could not write, so the request can be retried', async () => {
    const store = await openStore();
    await store.close();
    let refused: unknown;
    await store.claim('k', 'h').catch((error: unknown) => {
      refused = error;
    });
    expect(refused).to.be.instanceOf(Error);
    expect(store.size).to.equal(0);
    expect((await openStore()).recovery.records).to.equal(0);
  });
});
