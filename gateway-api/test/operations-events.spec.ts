import { expect } from 'chai';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import { FabricLedger } from '../src/ledger/fabric-ledger';
import type { LedgerChaincodeEvent } from '../src/ledger/ports';
import { EventFeed } from '../src/services/event-feed';
import { SlotEventHub, viewOf, type SlotEvent } from '../src/services/events';
import { FakeLedger } from './support/fake-ledger';
import {
  chaincodeEvent,
  EventingFakeLedger,
  FakeEventStream,
  OperationsApp,
  settle,
} from './operations-support';

const tx = (n: number): string => n.toString(16).padStart(64, '0');

const opened = (slotId: string, block: number, n: number) =>
  chaincodeEvent(
    'SlotOpened',
    {
      slotId,
      deadline: '2030-01-01T10:00:00.000Z',
      prices: { default: { lower: 10, upper: 20 }, buses: [{ bus: 'bus-2', lower: 30, upper: 40 }] },
      buses: [
        { org: 'UtilityAMSP', bus: 'bus-1' },
        { org: 'UtilityBMSP', bus: 'bus-2' },
      ],
    },
    block,
    tx(n),
  );

const dispatched = (slotId: string, block: number, n: number) =>
  chaincodeEvent(
    'DispatchPublished',
    { slotId, lambda: 0.5, perBus: [{ bus: 'bus-1', lambda: 0.25 }], revision: 0 },
    block,
    tx(n),
  );

describe('operations: slot event hub', () => {
  const hubOf = (bufferSize = 10) =>
    new SlotEventHub({ source: new EventingFakeLedger('DSOMSP', ['dso']), bufferSize });

  it("prepares a dispatch before any subscriber hears of it, so a device's event carries its own allowed power", async () => {
    const prepared: string[] = [];
    const hub = new SlotEventHub({
      source: new EventingFakeLedger('UtilityAMSP', ['relay']),
      beforeDispatchDelivery: async (data) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        prepared.push(`${data.slotId}@${data.revision}`);
      },
    });
    const seen: string[] = [];
    hub.subscribe({
      send: (event) => seen.push(`${event.type} after ${prepared.length}`),
      end: () => undefined,
    });
    hub.receive(opened('s1', 5, 1));
    hub.receive(dispatched('s1', 7, 4));
    hub.receive(opened('s2', 8, 5));
    expect(seen).to.deep.equal(['slot-opened after 0']);
    await hub.settled();
    // Later events wait for the dispatch: ledger order is kept.
    expect(seen).to.deep.equal(['slot-opened after 0', 'dispatch-published after 1', 'slot-opened after 1']);
    expect(prepared).to.deep.equal(['s1@0']);
    const device = { mspId: 'UtilityAMSP', role: 'hems', bus: 'bus-1' } as const;
    const event = hub.since(`5-${tx(1)}`).events[0]!;
    expect(
      viewOf(
        event,
        device,
        () => undefined,
        () => 1.25,
      ),
    ).to.deep.equal({
      slotId: 's1',
      bus: 'bus-1',
      lambda: 0.25,
      revision: 0,
      allowedKw: 1.25,
    });
    expect(viewOf(event, device, () => undefined)).to.not.have.property('allowedKw');
  });

  it('keeps SlotOpened and DispatchPublished with block-and-transaction ids, ignores other events', () => {
    const hub = hubOf();
    const seen: SlotEvent[] = [];
    hub.subscribe({ send: (event) => seen.push(event), end: () => undefined });
    hub.receive(opened('s1', 5, 1));
    hub.receive(
      chaincodeEvent('AggregatePublished', { slotId: 's1', org: 'UtilityAMSP', bus: 'bus-1' }, 6, tx(2)),
    );
    hub.receive(chaincodeEvent('SlotOpened', 'not json', 6, tx(3)));
    hub.receive(dispatched('s1', 7, 4));
    expect(seen.map((event) => [event.type, event.id])).to.deep.equal([
      ['slot-opened', `5-${tx(1)}`],
      ['dispatch-published', `7-${tx(4)}`],
    ]);
  });

  it('resumes after a Last-Event-ID, and resets when the id is older than the buffer', () => {
    const hub = hubOf(3);
    for (let n = 1; n <= 5; n += 1) {
      hub.receive(opened(`s${n}`, 10 + n, n));
    }
    const ids = (events: SlotEvent[]) => events.map((event) => event.data.slotId);
    expect(hub.since(undefined)).to.deep.equal({ events: [], reset: false });
    expect(ids(hub.since(`13-${tx(3)}`).events)).to.deep.equal(['s4', 's5']);
    expect(hub.since(`15-${tx(5)}`)).to.deep.equal({ events: [], reset: false });

    const tooOld = hub.since(`11-${tx(1)}`);
    expect(tooOld.reset).to.equal(true);
    expect(ids(tooOld.events)).to.deep.equal(['s3', 's4', 's5']);
    expect(hub.since('garbage').reset).to.equal(true);
    // An unknown id inside the covered range: its whole block is resent.
    expect(hub.since(`14-${tx(99)}`)).to.deep.include({ reset: false });
    expect(ids(hub.since(`14-${tx(99)}`).events)).to.deep.equal(['s4', 's5']);
  });

  it('resets a client whose id predates everything this hub has seen (e.g. after a restart)', () => {
    const hub = hubOf();
    expect(hub.since(`3-${tx(1)}`).reset).to.equal(true);
    hub.receive(opened('s1', 9, 1));
    expect(hub.since(`3-${tx(1)}`).reset).to.equal(true);
    expect(hub.since(`9-${tx(1)}`).reset).to.equal(false);
  });

  it('shows devices only their own bus: its prices and its λ', () => {
    const hub = hubOf();
    hub.receive(opened('s1', 5, 1));
    const open = hub.since(`4-${tx(0)}`).events[0] ?? expect.fail('no event');
    const busesOf = (slotId: string) => hub.busesOf(slotId);
    const deviceA1 = { mspId: 'UtilityAMSP', role: 'hems' as const, bus: 'bus-1' };
    const deviceB2 = { mspId: 'UtilityBMSP', role: 'hems' as const, bus: 'bus-2' };
    const deviceA2 = { mspId: 'UtilityAMSP', role: 'hems' as const, bus: 'bus-2' };

    expect(viewOf(open, deviceA1, busesOf)).to.deep.equal({
      slotId: 's1',
      deadline: '2030-01-01T10:00:00.000Z',
      bus: 'bus-1',
      prices: { lower: 10, upper: 20 },
    });
    expect(viewOf(open, deviceB2, busesOf)).to.deep.include({
      bus: 'bus-2',
      prices: { bus: 'bus-2', lower: 30, upper: 40 },
    });
    expect(viewOf(open, deviceA2, busesOf)).to.equal(undefined);
    expect(viewOf(open, { mspId: 'DSOMSP', role: 'dso' }, busesOf)).to.deep.include({ slotId: 's1' });

    hub.receive(dispatched('s1', 6, 2));
    hub.receive(dispatched('unknown-slot', 7, 3));
    const [, dispatch, unknown] = hub.since(`4-${tx(0)}`).events;
    const lambda = dispatch ?? expect.fail('no dispatch event');
    expect(viewOf(lambda, deviceA1, busesOf)).to.deep.equal({
      slotId: 's1',
      bus: 'bus-1',
      lambda: 0.25,
      revision: 0,
    });
    expect(viewOf(lambda, deviceB2, busesOf)).to.deep.equal({
      slotId: 's1',
      bus: 'bus-2',
      lambda: 0.5,
      revision: 0,
    });
    expect(viewOf(lambda, deviceA2, busesOf)).to.equal(undefined);
    // A slot opened before the hub started: its λ still reaches the device.
    expect(viewOf(unknown ?? expect.fail('no event'), deviceA2, busesOf)).to.deep.include({
      lambda: 0.5,
      bus: 'bus-2',
    });
  });
});

describe('operations: chaincode event feed', () => {
  it('reconnects after a failure from the last processed event, skipping what it already handled', async () => {
    const ledger = new EventingFakeLedger('UtilityAMSP', ['relay']);
    const handled: string[] = [];
    const feed = new EventFeed({
      source: ledger,
      startBlock: 3n,
      onEvent: (event) => {
        handled.push(`${event.blockNumber}:${event.transactionId.slice(-1)}`);
      },
      reconnect: { initialMs: 1, maxMs: 1 },
    });
    feed.start();
    await settle();
    expect(ledger.stream.startBlock).to.equal(3n);
    ledger.stream.push(opened('a', 3, 1), opened('b', 4, 2));
    await settle();
    ledger.stream.fail(new Error('peer restarted'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await settle();
    expect(ledger.streams).to.have.length(2);
    expect(ledger.streams[0]?.closed).to.equal(true);
    expect(ledger.stream.startBlock).to.equal(4n);
    // The peer resends block 4 from its start.
    ledger.stream.push(opened('x', 4, 1), opened('b', 4, 2), opened('c', 4, 3), opened('d', 5, 4));
    await settle();
    expect(handled).to.deep.equal(['3:1', '4:2', '4:3', '5:4']);
    expect(feed.lastPosition).to.deep.equal({ blockNumber: 5n, transactionId: tx(4) });
    await feed.stop();
    expect(ledger.stream.closed).to.equal(true);
  });
});

/** An open server-sent-event stream read over real HTTP. */
class EventStreamClient {
  text = '';
  constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.text += chunk;
    });
  }

  /** The dispatched events so far (comments left out). */
  get events(): { id?: string; event: string; data: unknown }[] {
    return this.text
      .split('\n\n')
      .filter((block) => block.includes('event: '))
      .map((block) => {
        const fields = new Map(
          block
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
        );
        return {
          ...(fields.has('id') ? { id: fields.get('id') } : {}),
          event: fields.get('event') ?? '',
          data: JSON.parse(fields.get('data') ?? 'null') as unknown,
        };
      });
  }

  async waitFor(predicate: (client: EventStreamClient) => boolean): Promise<void> {
    for (let attempt = 0; attempt < 200 && !predicate(this); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(predicate(this), this.text).to.equal(true);
  }

  close(): void {
    this.response.destroy();
  }
}

describe('operations: GET /v1/events', () => {
  let gateway: OperationsApp;
  let ledger: EventingFakeLedger;
  let port: number;
  let clients: EventStreamClient[];

  beforeEach(async () => {
    ledger = new EventingFakeLedger('UtilityAMSP', ['relay']);
    gateway = await OperationsApp.create({
      ledger,
      operations: { metrics: { processMetrics: false }, events: { heartbeatMs: 30, maxSubscribers: 3 } },
    });
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    port = (gateway.app.server.address() as AddressInfo).port;
    clients = [];
  });

  afterEach(async () => {
    clients.forEach((client) => client.close());
    await gateway.app.close();
  });

  /** Opens GET /v1/events on `app` (the listening gateway by default) as the holder of `certificate`. */
  function connect(
    certificate: X509Certificate,
    headers: Record<string, string> = {},
    app: OperationsApp = gateway,
  ): Promise<{ status: number; client: EventStreamClient }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port: app === gateway ? port : (app.app.server.address() as AddressInfo).port,
          path: '/v1/events',
          headers: { ...app.headersFor(certificate), ...headers },
        },
        (response) => {
          const client = new EventStreamClient(response);
          clients.push(client);
          resolve({ status: response.statusCode ?? 0, client });
        },
      );
      request.on('error', reject);
      request.end();
    });
  }

  it('streams public slot events to the DSO and each device its own bus, with ids and heartbeats', async () => {
    const dso = await connect(await gateway.pki.role('DSOMSP', 'dso'));
    const device = await connect(await gateway.pki.device('UtilityAMSP', 'home-1', 'bus-1'));
    const otherBus = await connect(await gateway.pki.device('UtilityAMSP', 'home-2', 'bus-2'));
    expect(dso.status).to.equal(200);
    expect(dso.client.response.headers['content-type']).to.equal('text/event-stream; charset=utf-8');
    expect(dso.client.response.headers['cache-control']).to.equal('no-cache, no-transform');

    ledger.stream.push(opened('s1', 8, 1), dispatched('s1', 9, 2));
    await dso.client.waitFor((client) => client.events.length === 2);
    await device.client.waitFor((client) => client.events.length === 2);
    expect(dso.client.events[0]).to.deep.include({ id: `8-${tx(1)}`, event: 'slot-opened' });
    expect(dso.client.events[1]).to.deep.equal({
      id: `9-${tx(2)}`,
      event: 'dispatch-published',
      data: { slotId: 's1', lambda: 0.5, perBus: [{ bus: 'bus-1', lambda: 0.25 }], revision: 0 },
    });
    expect(device.client.events).to.deep.equal([
      {
        id: `8-${tx(1)}`,
        event: 'slot-opened',
        data: {
          slotId: 's1',
          deadline: '2030-01-01T10:00:00.000Z',
          bus: 'bus-1',
          prices: { lower: 10, upper: 20 },
        },
      },
      {
        id: `9-${tx(2)}`,
        event: 'dispatch-published',
        data: { slotId: 's1', bus: 'bus-1', lambda: 0.25, revision: 0 },
      },
    ]);
    // bus-2 of UtilityAMSP is not in the slot.
    await otherBus.client.waitFor((client) => client.text.includes(': heartbeat\n\n'));
    expect(otherBus.client.events).to.deep.equal([]);
  });

  it('resumes after Last-Event-ID, and sends the buffer with a reset event for an id too old', async () => {
    const dsoCertificate = await gateway.pki.role('DSOMSP', 'dso');
    const first = await connect(dsoCertificate);
    ledger.stream.push(opened('s1', 8, 1), opened('s2', 9, 2), opened('s3', 10, 3));
    await first.client.waitFor((client) => client.events.length === 3);
    first.client.close();

    const resumed = await connect(dsoCertificate, { 'last-event-id': `8-${tx(1)}` });
    await resumed.client.waitFor((client) => client.events.length === 2);
    expect(resumed.client.events.map((event) => event.id)).to.deep.equal([`9-${tx(2)}`, `10-${tx(3)}`]);

    const stale = await connect(dsoCertificate, { 'last-event-id': `2-${tx(7)}` });
    await stale.client.waitFor((client) => client.events.length === 4);
    expect(stale.client.events.map((event) => event.event)).to.deep.equal([
      'reset',
      'slot-opened',
      'slot-opened',
      'slot-opened',
    ]);
    expect(stale.client.events[0]?.id).to.equal(undefined);
  });

  it('refuses other utilities’ devices, unauthenticated callers and streams beyond the limit', async () => {
    const foreign = await connect(await gateway.pki.device('UtilityBMSP', 'home-9', 'bus-1'));
    expect(foreign.status).to.equal(403);
    const anonymous = await gateway.request(undefined, { method: 'GET', url: '/v1/events' });
    expect(anonymous.statusCode).to.equal(401);

    const dso = await gateway.pki.role('DSOMSP', 'dso');
    for (let n = 0; n < 3; n += 1) {
      expect((await connect(dso)).status).to.equal(200);
    }
    const refused = await connect(dso);
    expect(refused.status).to.equal(503);
  });

  it('caps the open streams of each caller and answers 429 beyond it; a closed stream frees its place', async () => {
    const capped = await OperationsApp.create({
      ledger,
      pki: gateway.pki,
      operations: { metrics: { processMetrics: false }, events: { maxStreamsPerCaller: 2 } },
    });
    await capped.app.listen({ host: '127.0.0.1', port: 0 });
    const open = (certificate: X509Certificate) => connect(certificate, {}, capped);
    try {
      const device = await gateway.pki.device('UtilityAMSP', 'home-1', 'bus-1');
      const first = await open(device);
      expect(first.status).to.equal(200);
      expect((await open(device)).status).to.equal(200);
      const refused = await open(device);
      expect(refused.status).to.equal(429);
      await refused.client.waitFor((client) => client.response.readableEnded);
      expect(JSON.parse(refused.client.text)).to.deep.equal({
        statusCode: 429,
        code: 'TOO_MANY_STREAMS',
        message: 'at most 2 open event streams per client certificate; close one before opening another',
      });
      // Another device (another certificate) is not affected.
      expect((await open(await gateway.pki.device('UtilityAMSP', 'home-2', 'bus-1'))).status).to.equal(200);

      first.client.close();
      let reopened = 0;
      for (let attempt = 0; attempt < 100 && reopened !== 200; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const again = await open(device);
        reopened = again.status;
        if (reopened !== 200) {
          again.client.close();
        }
      }
      expect(reopened).to.equal(200);
    } finally {
      clients.forEach((client) => client.close());
      await capped.app.close();
    }
  });

  it('ends open streams when the app closes', async () => {
    const dso = await connect(await gateway.pki.role('DSOMSP', 'dso'));
    const ended = new Promise((resolve) => dso.client.response.on('end', resolve));
    await gateway.app.close();
    await ended;
    expect(ledger.stream.closed).to.equal(true);
  });

  it('answers 503 on a gateway whose ledger has no event stream', async () => {
    const plain = await OperationsApp.create({
      ledger: new FakeLedger('UtilityAMSP', ['relay']),
      pki: gateway.pki,
      operations: { metrics: { processMetrics: false } },
    });
    try {
      const response = await plain.request(await plain.pki.role('DSOMSP', 'dso'), {
        method: 'GET',
        url: '/v1/events',
      });
      expect(response.statusCode).to.equal(503);
      expect(response.json()).to.deep.include({ code: 'UNAVAILABLE' });
    } finally {
      await plain.app.close();
    }
  });
});

describe('operations: FabricLedger.chaincodeEvents', () => {
  /** A FabricLedger over a fake fabric-gateway Network (no peer needed). */
  function ledgerWith(
    getChaincodeEvents: (name: string, options: unknown) => Promise<unknown>,
  ): FabricLedger {
    const ledger = Object.create(FabricLedger.prototype) as FabricLedger;
    Object.assign(ledger, {
      description: { chaincode: 'hems' },
      identities: ['relay'],
      connections: new Map([['relay', { network: { getChaincodeEvents } }]]),
    });
    return ledger;
  }

  it('reads the HEMS chaincode from the start block and closes the gateway stream', async () => {
    const upstream = new FakeEventStream(undefined);
    const requests: unknown[] = [];
    const ledger = ledgerWith((name, options) => {
      requests.push([name, options]);
      return Promise.resolve(upstream);
    });
    const stream = ledger.chaincodeEvents({ startBlock: 12n });
    upstream.push({ ...opened('s1', 12, 1), chaincodeName: 'hems' } as LedgerChaincodeEvent);
    upstream.end();
    const received: LedgerChaincodeEvent[] = [];
    for await (const event of stream) {
      received.push(event);
    }
    expect(requests).to.deep.equal([['hems', { startBlock: 12n }]]);
    expect(received).to.deep.equal([opened('s1', 12, 1)]);
    expect(upstream.closed).to.equal(true);
  });

  it('closes a stream closed before it opened, and surfaces an open failure to the reader only', async () => {
    const upstream = new FakeEventStream(undefined);
    const early = ledgerWith(() => Promise.resolve(upstream)).chaincodeEvents({});
    early.close();
    await settle();
    expect(upstream.closed).to.equal(true);

    const failing = ledgerWith(() => Promise.reject(new Error('UNAVAILABLE'))).chaincodeEvents({});
    let failure: unknown;
    try {
      for await (const event of failing) {
        expect.fail(`unexpected ${event.eventName}`);
      }
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).to.match(/UNAVAILABLE/);
  });
});
