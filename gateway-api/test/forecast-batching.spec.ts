import { randomBytes, type X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { forecastIdentity } from '../src/services/forecast-replays';
import type { TransactionOptions } from '../src/ledger/ports';
import { refusal } from './support/fake-ledger';
import { TestGateway } from './support/gateway';
import { TestPki } from './support/pki';

const SLOT = 'slot-1';
const ACCEPTED_AT = '2030-01-01T10:01:00.000Z';

function forecastPayload(lower: number, upper: number, nonce = randomBytes(16).toString('base64')): string {
  return JSON.stringify({ slotId: SLOT, lower, upper, nonce });
}

interface SentItem {
  readonly payload: string;
  readonly signature: string;
  readonly certificate: string;
}

function itemsOf(options: TransactionOptions): SentItem[] {
  return JSON.parse(Buffer.from(options.transientData?.items ?? []).toString('utf8')) as SentItem[];
}

/** SubmitForecasts as the chaincode answers it, refusing the items `refuse` picks. */
function receiptFor(refuse: (payload: string) => { code: string; message: string } | undefined) {
  return (options: TransactionOptions) => {
    const refused = itemsOf(options).flatMap((item, index) => {
      const refusalOfItem = refuse(Buffer.from(item.payload, 'base64').toString('utf8'));
      return refusalOfItem === undefined ? [] : [{ index, ...refusalOfItem }];
    });
    return {
      slotId: SLOT,
      txId: 'f'.repeat(64),
      acceptedAt: ACCEPTED_AT,
      accepted: itemsOf(options).length - refused.length,
      refused,
    };
  };
}

describe('utility gateway: batched forecasts', () => {
  let pki: TestPki;
  let gateway: TestGateway;
  let devices: X509Certificate[];

  before(async () => {
    pki = await TestPki.create();
    devices = await Promise.all([0, 1, 2, 3, 4].map((n) => pki.device('UtilityAMSP', `home-${n}`, 'bus-1')));
  });

  const start = async (maxItems = 100, maxWaitMs = 30): Promise<void> => {
    gateway = await TestGateway.create('UtilityAMSP', ['relay', 'admin'], {
      pki,
      forecastBatch: { maxItems, maxWaitMs },
    });
    gateway.ledger.on('ListForecastNonces', { slotId: SLOT, batches: [] });
    gateway.ledger.on('GetHomeRefs', (options: TransactionOptions) => ({
      slotId: SLOT,
      refs: (JSON.parse(Buffer.from(options.transientData?.homes ?? []).toString()) as string[]).map(
        (_, index) => String(index).repeat(64).slice(0, 64),
      ),
    }));
    gateway.ledger.on(
      'SubmitForecasts',
      receiptFor(() => undefined),
    );
  };
  afterEach(() => gateway.app.close());

  const post = (device: X509Certificate, payload: string): Promise<LightMyRequestResponse> =>
    gateway.post(device, `/v1/slots/${SLOT}/forecast`, {
      payload,
      signature: randomBytes(70).toString('base64'),
    });

  it('sends what arrives within the window as one transaction and answers each device after the commit', async () => {
    await start();
    const payloads = devices.map((_, n) => forecastPayload(n, n + 1));
    const responses = await Promise.all(devices.map((device, n) => post(device, payloads[n] ?? '')));
    for (const response of responses) {
      expect(response.statusCode).to.equal(201);
      expect(response.headers['x-transaction-id']).to.equal('f'.repeat(64));
      expect(response.json()).to.deep.equal({ slotId: SLOT, txId: 'f'.repeat(64), acceptedAt: ACCEPTED_AT });
    }
    const calls = gateway.ledger.callsOf('SubmitForecasts');
    expect(calls).to.have.length(1);
    const [call] = calls;
    expect(call?.identity).to.equal('relay');
    expect(call?.kind).to.equal('submit');
    // The proposal's only argument is the slot id; forecasts, signatures and certificates are transient.
    expect(call?.options.arguments).to.deep.equal([SLOT]);
    expect(call?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
    const sent = itemsOf(call?.options ?? {});
    expect(sent.map((item) => Buffer.from(item.payload, 'base64').toString())).to.deep.equal(payloads);
    expect(sent.map((item) => item.certificate)).to.deep.equal(devices.map((device) => device.toString()));
    // The batch's home references are learned in one evaluation (home ids only), for reads from memory.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const learned = gateway.ledger.callsOf('GetHomeRefs');
    expect(learned).to.have.length(1);
    expect(learned[0]?.kind).to.equal('evaluate');
    expect(JSON.parse(Buffer.from(learned[0]?.options.transientData?.homes ?? []).toString())).to.deep.equal(
      devices.map((_, n) => `home-${n}`),
    );
  });

  it('closes a batch at its size bound', async () => {
    await start(2, 5000);
    const responses = await Promise.all(
      devices.slice(0, 4).map((device, n) => post(device, forecastPayload(n, n))),
    );
    expect(responses.map((response) => response.statusCode)).to.deep.equal([201, 201, 201, 201]);
    expect(
      gateway.ledger.callsOf('SubmitForecasts').map((call) => itemsOf(call.options).length),
    ).to.deep.equal([2, 2]);
  });

  it('answers a refused item with its own code and message and lets the others commit', async () => {
    await start();
    gateway.ledger.on(
      'SubmitForecasts',
      receiptFor((payload) =>
        payload.includes('"lower":9')
          ? { code: 'INVALID_ARGUMENT', message: 'payload.lower must not exceed payload.upper' }
          : payload.includes('"lower":8')
            ? { code: 'FORBIDDEN', message: 'device certificate has been revoked' }
            : undefined,
      ),
    );
    const [good, bad, revoked] = await Promise.all([
      post(devices[0]!, forecastPayload(1, 2)),
      post(devices[1]!, forecastPayload(9, 2)),
      post(devices[2]!, forecastPayload(8, 9)),
    ]);
    expect(good?.statusCode).to.equal(201);
    expect(bad?.statusCode).to.equal(422);
    expect(bad?.json()).to.include({
      code: 'INVALID_ARGUMENT',
      message: 'payload.lower must not exceed payload.upper',
    });
    expect(revoked?.statusCode).to.equal(403);
    expect(gateway.ledger.callsOf('SubmitForecasts')).to.have.length(1);
    // A refused item's nonce is free again: the device may correct and resubmit.
  });

  it('answers a retry of a stored forecast with its first receipt, and refuses a reused or pending nonce', async () => {
    await start();
    const nonce = randomBytes(16).toString('base64');
    const payload = forecastPayload(1, 2, nonce);
    const device = devices[0]!;
    expect((await post(device, payload)).statusCode).to.equal(201);
    const retry = await post(device, payload);
    expect(retry.statusCode).to.equal(201);
    expect(retry.headers['idempotent-replay']).to.equal('true');
    expect(retry.json()).to.deep.equal({ slotId: SLOT, txId: 'f'.repeat(64), acceptedAt: ACCEPTED_AT });
    const reused = await post(device, forecastPayload(3, 4, nonce));
    expect(reused.statusCode).to.equal(409);
    expect(reused.json()).to.include({ code: 'CONFLICT' });
    expect(reused.json<{ message: string }>().message).to.match(/nonce was already used/);
    // Two submissions of one nonce at once: the second waits for nothing and is refused.
    const twice = forecastPayload(5, 6);
    const [first, second] = await Promise.all([post(device, twice), post(devices[1]!, twice)]);
    expect([first?.statusCode, second?.statusCode].sort()).to.deep.equal([201, 409]);
    expect(gateway.ledger.callsOf('SubmitForecasts')).to.have.length(2);
  });

  it('after a restart, knows the stored nonces from its peer: a retry gets its receipt, not a second transaction', async () => {
    await start();
    const payload = forecastPayload(1, 2);
    const identity = forecastIdentity(payload, 'bus-1');
    gateway.ledger.on('ListForecastNonces', {
      slotId: SLOT,
      batches: [{ txId: 'b'.repeat(64), at: ACCEPTED_AT, items: [[identity?.nonceDigest, identity?.leaf]] }],
    });
    const retry = await post(devices[0]!, payload);
    expect(retry.statusCode).to.equal(201);
    expect(retry.json()).to.include({ txId: 'b'.repeat(64) });
    expect(gateway.ledger.callsOf('SubmitForecasts')).to.deep.equal([]);
    const listing = gateway.ledger.callsOf('ListForecastNonces');
    expect(listing).to.have.length(1);
    expect(listing[0]?.kind).to.equal('evaluate');
    expect(listing[0]?.options.endorsingOrganizations).to.deep.equal(['UtilityAMSP']);
  });

  it("lets only one of two concurrent submissions of a nonce through while the slot's nonces load", async () => {
    await start();
    let release: () => void = () => undefined;
    const loading = new Promise<void>((resolve) => (release = resolve));
    gateway.ledger.on('ListForecastNonces', async () => {
      await loading;
      return { slotId: SLOT, batches: [] };
    });
    const payload = forecastPayload(1, 2);
    const device = devices[0]!;
    const answers = Promise.all([post(device, payload), post(device, payload), post(devices[1]!, payload)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const statuses = (await answers).map((response) => response.statusCode).sort();
    expect(statuses).to.deep.equal([201, 409, 409]);
    const items = gateway.ledger.callsOf('SubmitForecasts').flatMap((call) => itemsOf(call.options));
    expect(items).to.have.length(1);
  });

  it("puts a home's second forecast into the next batch, so the later one replaces the earlier", async () => {
    await start();
    const device = devices[0]!;
    const [first, second] = await Promise.all([
      post(device, forecastPayload(1, 2)),
      post(device, forecastPayload(3, 4)),
    ]);
    expect([first?.statusCode, second?.statusCode]).to.deep.equal([201, 201]);
    const batches = gateway.ledger.callsOf('SubmitForecasts').map((call) => itemsOf(call.options).length);
    expect(batches).to.deep.equal([1, 1]);
  });

  it('answers every device of a batch the ledger refused as a whole, and forgets their nonces', async () => {
    await start();
    gateway.ledger.on('SubmitForecasts', () => {
      throw refusal(
        'FAILED_PRECONDITION',
        'slot slot-1 closed for forecasts at its deadline 2030-01-01T10:00:00Z',
      );
    });
    const payload = forecastPayload(1, 2);
    const responses = await Promise.all([
      post(devices[0]!, payload),
      post(devices[1]!, forecastPayload(2, 3)),
    ]);
    for (const response of responses) {
      expect(response.statusCode).to.equal(409);
      expect(response.json()).to.include({ code: 'FAILED_PRECONDITION' });
    }
    gateway.ledger.on(
      'SubmitForecasts',
      receiptFor(() => undefined),
    );
    expect((await post(devices[0]!, payload)).statusCode).to.equal(201);
  });

  it('answers 500 without internals when the ledger fails unexpectedly, and keeps values out of logs', async () => {
    const logs: string[] = [];
    gateway = await TestGateway.create('UtilityAMSP', ['relay'], {
      pki,
      logs,
      forecastBatch: { maxItems: 10, maxWaitMs: 5 },
    });
    gateway.ledger.on('ListForecastNonces', { slotId: SLOT, batches: [] });
    gateway.ledger.on('SubmitForecasts', () => {
      throw new Error('socket hang up at 10.1.2.3');
    });
    const response = await post(devices[0]!, forecastPayload(4.321, 5.432));
    expect(response.statusCode).to.equal(500);
    expect(response.json()).to.deep.equal({ statusCode: 500, code: 'INTERNAL', message: 'internal error' });
    expect(logs.join('')).to.not.include('4.321');
    expect(logs.join('')).to.not.include('10.1.2.3');
  });
});
