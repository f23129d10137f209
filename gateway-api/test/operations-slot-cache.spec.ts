import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app';
import { SlotEventHub, type SlotEvent } from '../src/services/events';
import { SlotCache } from '../src/services/slot-cache';
import { TestPki } from './support/pki';
import { chaincodeEvent, EventingFakeLedger, settle, until } from './operations-support';

/** A GetSlot answer the test releases when it wants, to hold a re-read in flight. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

const tx = (n: number): string => n.toString(16).padStart(64, '0');

describe('operations: slot cache', () => {
  let directory: string;
  let checkpointFile: string;
  let ledger: EventingFakeLedger;
  let status: Record<string, string>;
  let now: number;
  let caches: SlotCache[];

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'slot-cache-'));
    checkpointFile = path.join(directory, 'state', 'slot-cache.json');
    ledger = new EventingFakeLedger('UtilityAMSP', ['relay', 'admin']);
    status = {};
    now = Date.parse('2030-01-01T09:00:00Z');
    ledger.on('GetSlot', (options: { arguments?: readonly string[] }) => {
      const slotId = options.arguments?.[0] ?? '';
      return { slotId, status: status[slotId] ?? 'OPEN', deadline: '2030-01-01T10:00:00Z', aggregates: [] };
    });
    caches = [];
  });

  afterEach(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    await rm(directory, { recursive: true, force: true });
  });

  /** Until the cache processed the event of transaction n. */
  const processed = (cache: SlotCache, n: number) => until(() => cache.checkpoint?.transactionId === tx(n));

  async function startCache(options: { maxSlots?: number; startBlock?: bigint } = {}): Promise<SlotCache> {
    const cache = new SlotCache({ ledger, checkpointFile, now: () => now, ...options });
    caches.push(cache);
    await cache.start();
    await settle();
    return cache;
  }

  it('re-reads a slot once per slot event and serves it, closing an OPEN slot at its deadline', async () => {
    const cache = await startCache();
    expect(cache.get('s1')).to.equal(undefined);
    ledger.stream.push(chaincodeEvent('SlotOpened', { slotId: 's1' }, 4, tx(1)));
    await processed(cache, 1);
    expect(cache.get('s1')).to.deep.include({ slotId: 's1', status: 'OPEN' });

    status.s1 = 'AGGREGATED';
    ledger.stream.push(chaincodeEvent('AggregatePublished', { slotId: 's1', org: 'UtilityAMSP' }, 5, tx(2)));
    await processed(cache, 2);
    expect(cache.get('s1')).to.deep.include({ status: 'AGGREGATED' });
    expect(ledger.callsOf('GetSlot')).to.have.length(2);
    expect(ledger.callsOf('GetSlot')[0]?.identity).to.equal('relay');

    // A slot that is still OPEN in the cache is CLOSED once its deadline passed (no event says so).
    ledger.stream.push(chaincodeEvent('SlotOpened', { slotId: 's2' }, 6, tx(3)));
    await processed(cache, 3);
    now = Date.parse('2030-01-01T10:00:00Z');
    expect(cache.get('s2')).to.deep.include({ status: 'CLOSED' });
    expect(cache.get('s1')).to.deep.include({ status: 'AGGREGATED' });
  });

  it('persists a checkpoint and resumes after it on restart, without re-reading handled events', async () => {
    const first = await startCache();
    expect(ledger.stream.startBlock).to.equal(undefined);
    ledger.stream.push(
      chaincodeEvent('SlotOpened', { slotId: 's1' }, 7, tx(1)),
      chaincodeEvent('DispatchPublished', { slotId: 's1' }, 8, tx(2)),
    );
    await processed(first, 2);
    expect(first.checkpoint).to.deep.equal({ blockNumber: 8n, transactionId: tx(2) });
    expect(JSON.parse(await readFile(checkpointFile, 'utf8'))).to.deep.equal({
      blockNumber: '8',
      transactionId: tx(2),
    });
    await first.stop();
    expect(ledger.stream.closed).to.equal(true);

    const restarted = await startCache({ startBlock: 0n });
    expect(ledger.stream.startBlock).to.equal(8n);
    ledger.stream.push(
      chaincodeEvent('DispatchPublished', { slotId: 's1' }, 8, tx(2)),
      chaincodeEvent('SlotSettled', { slotId: 's1' }, 8, tx(3)),
    );
    await processed(restarted, 3);
    expect(ledger.callsOf('GetSlot')).to.have.length(3);
    expect(restarted.checkpoint).to.deep.equal({ blockNumber: 8n, transactionId: tx(3) });
  });

  it('drops a slot whose re-read failed instead of keeping it stale, and moves on', async () => {
    const cache = await startCache();
    ledger.stream.push(chaincodeEvent('SlotOpened', { slotId: 's1' }, 4, tx(1)));
    await processed(cache, 1);
    ledger.refuse('GetSlot', 'NOT_FOUND', 'gone');
    ledger.stream.push(chaincodeEvent('DispatchPublished', { slotId: 's1' }, 5, tx(2)));
    await processed(cache, 2);
    expect(cache.get('s1')).to.equal(undefined);
    expect(cache.checkpoint).to.deep.equal({ blockNumber: 5n, transactionId: tx(2) });
  });

  it('checkpoints events it does not cache and keeps at most maxSlots slots', async () => {
    const cache = await startCache({ maxSlots: 2 });
    ledger.stream.push(
      chaincodeEvent('SettingsChanged', { id: 'p1' }, 3, tx(1)),
      chaincodeEvent('SlotOpened', { slotId: 's1' }, 4, tx(2)),
      chaincodeEvent('SlotOpened', { slotId: 's2' }, 5, tx(3)),
      chaincodeEvent('SlotOpened', { slotId: 's3' }, 6, tx(4)),
      chaincodeEvent('SlotOpened', 'garbage', 7, tx(5)),
    );
    await processed(cache, 5);
    expect(cache.size).to.equal(2);
    expect(cache.get('s1')).to.equal(undefined);
    expect(cache.get('s3')).to.deep.include({ slotId: 's3' });
    expect(ledger.callsOf('GetSlot')).to.have.length(3);
    expect(cache.checkpoint).to.deep.equal({ blockNumber: 7n, transactionId: tx(5) });
  });

  describe('after a dispatch (regression: the old λ was served until the re-read finished)', () => {
    const slotWith = (slotId: string, lambda?: number) => ({
      slotId,
      status: lambda === undefined ? 'AGGREGATED' : 'DISPATCHED',
      deadline: '2030-01-01T10:00:00Z',
      aggregates: [],
      ...(lambda === undefined ? {} : { dispatch: { lambda, perBus: [], revision: 0 } }),
    });

    it('never answers the pre-dispatch slot while its re-read runs', async () => {
      const cache = await startCache();
      ledger.on('GetSlot', slotWith('s1'));
      ledger.stream.push(chaincodeEvent('SlotOpened', { slotId: 's1' }, 4, tx(1)));
      await processed(cache, 1);
      expect(cache.get('s1')).to.not.have.property('dispatch');

      const reRead = deferred<unknown>();
      ledger.on('GetSlot', () => reRead.promise);
      ledger.stream.push(chaincodeEvent('DispatchPublished', { slotId: 's1', lambda: 0.4 }, 5, tx(2)));
      await until(() => ledger.callsOf('GetSlot').length === 2);
      // The stale read: the entry without λ used to be answered here.
      expect(cache.get('s1')).to.equal(undefined);

      reRead.resolve(slotWith('s1', 0.4));
      await processed(cache, 2);
      expect(cache.get('s1')).to.deep.include({
        status: 'DISPATCHED',
        dispatch: { lambda: 0.4, perBus: [], revision: 0 },
      });
    });

    it('drops an entry older than a change another event stream reported, and keeps a fresher one', async () => {
      const cache = await startCache();
      ledger.on('GetSlot', slotWith('s1'));
      ledger.stream.push(chaincodeEvent('SlotOpened', { slotId: 's1' }, 4, tx(1)));
      await processed(cache, 1);
      // An event of a block the entry already reflects changes nothing.
      cache.invalidate('s1', 4n);
      cache.invalidate('s2', 9n);
      expect(cache.get('s1')).to.deep.include({ slotId: 's1' });
      // The hub saw the dispatch in block 5 before this cache's stream did.
      cache.invalidate('s1', 5n);
      expect(cache.get('s1')).to.equal(undefined);
    });

    it('does not store a re-read that a newer change overtook', async () => {
      const cache = await startCache();
      const reRead = deferred<unknown>();
      ledger.on('GetSlot', () => reRead.promise);
      ledger.stream.push(chaincodeEvent('AggregatePublished', { slotId: 's1' }, 5, tx(1)));
      await until(() => ledger.callsOf('GetSlot').length === 1);
      // DispatchPublished in block 6, reported by the hub while the block-5 re-read runs.
      cache.invalidate('s1', 6n);
      reRead.resolve(slotWith('s1'));
      await processed(cache, 1);
      expect(cache.get('s1')).to.equal(undefined);

      ledger.on('GetSlot', slotWith('s1', 0.25));
      ledger.stream.push(chaincodeEvent('DispatchPublished', { slotId: 's1', lambda: 0.25 }, 6, tx(2)));
      await processed(cache, 2);
      expect(cache.get('s1')).to.deep.include({ dispatch: { lambda: 0.25, perBus: [], revision: 0 } });
    });

    it('is invalidated by the event hub before any subscriber hears of the dispatch', async () => {
      const cache = await startCache();
      ledger.on('GetSlot', slotWith('s1'));
      ledger.stream.push(chaincodeEvent('SlotOpened', { slotId: 's1' }, 4, tx(1)));
      await processed(cache, 1);
      const hub = new SlotEventHub({
        source: ledger,
        onSlotChange: (slotId, blockNumber) => cache.invalidate(slotId, blockNumber),
      });
      // What a device reading its slot on the event would get from the cache.
      const seen: unknown[] = [];
      hub.subscribe({
        send: (event: SlotEvent) => seen.push(cache.get((event.data as { slotId: string }).slotId)),
        end: () => undefined,
      });
      hub.receive(
        chaincodeEvent('DispatchPublished', { slotId: 's1', lambda: 0.4, perBus: [], revision: 0 }, 5, tx(2)),
      );
      expect(seen).to.deep.equal([undefined]);
    });

    it('is wired from the app: the gateway’s event stream invalidates the slot cache it serves from', async () => {
      const eventing = new EventingFakeLedger('UtilityAMSP', ['relay']);
      const invalidated: [string, bigint][] = [];
      const app = await buildApp({
        ledger: eventing,
        trust: (await TestPki.create()).trustStore(),
        logger: false,
        operations: { metrics: { processMetrics: false } },
        slotCache: {
          get: () => undefined,
          invalidate: (slotId, blockNumber) => invalidated.push([slotId, blockNumber]),
        },
      });
      try {
        await app.ready();
        await settle();
        eventing.stream.push(
          chaincodeEvent(
            'DispatchPublished',
            { slotId: 's7', lambda: 0.5, perBus: [], revision: 1 },
            12,
            tx(3),
          ),
          chaincodeEvent('AggregatePublished', { slotId: 's7' }, 12, tx(4)),
        );
        await until(() => invalidated.length === 1);
        await settle();
        expect(invalidated).to.deep.equal([['s7', 12n]]);
      } finally {
        await app.close();
      }
    });
  });

  it('refuses to start from a checkpoint file it cannot read', async () => {
    await startCache();
    await writeFile(checkpointFile, '{"blockNumber": 5}');
    const cache = new SlotCache({ ledger, checkpointFile });
    let failure: unknown;
    await cache.start().catch((error: unknown) => {
      failure = error;
    });
    expect(String(failure)).to.match(/is not a slot cache checkpoint/);
  });
});
