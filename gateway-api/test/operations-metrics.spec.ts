import { expect } from 'chai';
import type { X509Certificate } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { HttpError } from '../src/http/errors';
import { FailedAuthenticationLimiter, rateLimitKey } from '../src/plugins/rate-limit';
import { buildApp } from '../src/app';
import { refusal } from './support/fake-ledger';
import { OperationsApp } from './operations-support';
import { TestGateway } from './support/gateway';
import { TestPki } from './support/pki';

const OPEN_SLOT = {
  slotId: 'slot-1',
  deadline: '2030-01-01T10:00:00Z',
  prices: { default: { lower: 10, upper: 20 } },
};

/** The value of one sample in Prometheus text format, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) {
      continue;
    }
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const present = labelText.split(',');
    if (wanted.every((label) => present.includes(label))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

/** A 429 in the API error format, to retry after the 60 s window. */
function expectRateLimited(response: LightMyRequestResponse, message: string): void {
  expect(response.statusCode).to.equal(429);
  expect(response.json()).to.deep.equal({ statusCode: 429, code: 'RATE_LIMITED', message });
  expect(response.headers['retry-after']).to.equal('60');
}

describe('operations: metrics', () => {
  let gateway: OperationsApp;
  let dso: X509Certificate;

  beforeEach(async () => {
    gateway = await OperationsApp.create({
      operations: { metrics: { processMetrics: false } },
      routes: (app) => {
        // A route that submits several transactions and counts them itself.
        app.post('/v1/test/batch', { config: { submitMetrics: 'manual' } }, () => {
          app.metrics.recordSubmit('success');
          app.metrics.recordSubmit('refused', 'FAILED_PRECONDITION');
          throw new HttpError(502, 'COMMIT_FAILED', 'not committed', 'e'.repeat(64));
        });
      },
    });
    dso = await gateway.pki.role('DSOMSP', 'dso');
  });

  afterEach(() => gateway.app.close());

  async function scrape(): Promise<string> {
    const response = await gateway.request(undefined, { method: 'GET', url: '/metrics' });
    expect(response.statusCode).to.equal(200);
    expect(response.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
    return response.body;
  }

  it('counts requests and latency by method, route pattern and status on a public /metrics', async () => {
    gateway.ledger.on('GetSlot', { slotId: 'slot-1', status: 'OPEN' });
    await gateway.request(dso, { method: 'GET', url: '/v1/slots/slot-1' });
    await gateway.request(dso, { method: 'GET', url: '/v1/slots/slot-2' });
    await gateway.request(undefined, { method: 'GET', url: '/v1/slots/slot-1' });
    await gateway.request(dso, { method: 'GET', url: '/no/such/route' });

    const text = await scrape();
    const route = { method: 'GET', route: '/v1/slots/:slotId' };
    expect(sample(text, 'hems_gateway_http_requests_total', { ...route, status: '200' })).to.equal(2);
    expect(sample(text, 'hems_gateway_http_requests_total', { ...route, status: '401' })).to.equal(1);
    expect(sample(text, 'hems_gateway_http_requests_total', { route: 'unmatched', status: '404' })).to.equal(
      1,
    );
    expect(
      sample(text, 'hems_gateway_http_request_duration_seconds_count', { ...route, status: '200' }),
    ).to.equal(2);
    expect(text).not.to.include('slot-1');
  });

  it('counts submit outcomes from responses: committed, refused with the chaincode code, failed', async () => {
    gateway.ledger.on('OpenSlot', OPEN_SLOT);
    expect(
      (await gateway.request(dso, { method: 'POST', url: '/v1/slots', payload: OPEN_SLOT })).statusCode,
    ).to.equal(201);

    // Refused at endorsement: fabric-gateway's error carries the transaction id.
    gateway.ledger.on('OpenSlot', () => {
      throw Object.assign(refusal('CONFLICT', 'slot slot-1 exists'), { transactionId: 'a'.repeat(64) });
    });
    expect(
      (await gateway.request(dso, { method: 'POST', url: '/v1/slots', payload: OPEN_SLOT })).statusCode,
    ).to.equal(409);

    // Endorsed and ordered, but invalidated at commit.
    gateway.ledger.on('OpenSlot', () => {
      throw new HttpError(
        409,
        'CONFLICT',
        'transaction was not committed: MVCC_READ_CONFLICT',
        'b'.repeat(64),
      );
    });
    await gateway.request(dso, { method: 'POST', url: '/v1/slots', payload: OPEN_SLOT });

    // An evaluation refused: no transaction, not a submit.
    gateway.ledger.refuse('GetSlot', 'NOT_FOUND', 'no slot');
    expect((await gateway.request(dso, { method: 'GET', url: '/v1/slots/slot-9' })).statusCode).to.equal(404);

    const text = await scrape();
    const submits = 'hems_gateway_fabric_submits_total';
    expect(sample(text, submits, { outcome: 'success' })).to.equal(1);
    expect(sample(text, submits, { outcome: 'refused', code: 'CONFLICT' })).to.equal(1);
    expect(sample(text, submits, { outcome: 'failed', code: 'CONFLICT' })).to.equal(1);
    expect(sample(text, submits, { outcome: 'refused', code: 'NOT_FOUND' })).to.equal(0);
  });

  it('leaves routes marked submitMetrics: manual to count their own submits', async () => {
    const response = await gateway.request(dso, { method: 'POST', url: '/v1/test/batch' });
    expect(response.statusCode).to.equal(502);
    const text = await scrape();
    const submits = 'hems_gateway_fabric_submits_total';
    expect(sample(text, submits, { outcome: 'success' })).to.equal(1);
    expect(sample(text, submits, { outcome: 'refused', code: 'FAILED_PRECONDITION' })).to.equal(1);
    expect(sample(text, submits, { outcome: 'failed' })).to.equal(0);
  });

  it('keeps a registry per app instance', async () => {
    const other = await OperationsApp.create({
      pki: gateway.pki,
      operations: { metrics: { processMetrics: false } },
    });
    try {
      await gateway.request(dso, { method: 'GET', url: '/v1/slots/x' });
      const text = (await other.request(undefined, { method: 'GET', url: '/metrics' })).body;
      expect(sample(text, 'hems_gateway_http_requests_total', { route: '/v1/slots/:slotId' })).to.equal(0);
    } finally {
      await other.app.close();
    }
  });

  it('is part of the app buildApp assembles, with process metrics', async () => {
    const app = await buildApp({
      ledger: gateway.ledger,
      trust: gateway.pki.trustStore(),
      logger: false,
    });
    try {
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).to.equal(200);
      expect(response.body).to.include('hems_gateway_process_cpu_seconds_total');
      expect(response.body).to.include('hems_gateway_fabric_submits_total');
    } finally {
      await app.close();
    }
  });
});

describe('operations: rate limit', () => {
  let gateway: OperationsApp;
  let now: number;

  beforeEach(async () => {
    now = Date.parse('2030-01-01T09:00:00Z');
    gateway = await OperationsApp.create({
      operations: { rateLimit: { max: 2 }, metrics: { processMetrics: false } },
      failureLimiter: new FailedAuthenticationLimiter({ max: 2, timeWindowMs: 60_000, now: () => now }),
      routes: (app) => app.get('/public', { config: { public: true } }, () => ({ ok: true })),
    });
    gateway.ledger.on('GetSlot', { slotId: 'slot-1', status: 'OPEN' });
  });

  afterEach(() => gateway.app.close());

  it('limits each verified caller separately and answers 429 in the API error format', async () => {
    const first = await gateway.pki.role('DSOMSP', 'dso');
    const second = await gateway.pki.role('DSOMSP', 'dso', 'dso-2');
    const get = (certificate: X509Certificate) =>
      gateway.request(certificate, { method: 'GET', url: '/v1/slots/slot-1' });

    expect((await get(first)).statusCode).to.equal(200);
    expect((await get(first)).statusCode).to.equal(200);
    expectRateLimited(await get(first), 'rate limit of 2 requests exceeded; retry in 1 minute');
    expect((await get(second)).statusCode).to.equal(200);
  });

  it('keys requests without a certificate by IP address', async () => {
    const get = (remoteAddress: string) =>
      gateway.app.inject({ method: 'GET', url: '/public', remoteAddress });
    expect((await get('10.0.0.1')).statusCode).to.equal(200);
    expect((await get('10.0.0.1')).statusCode).to.equal(200);
    expect((await get('10.0.0.1')).statusCode).to.equal(429);
    expect((await get('10.0.0.2')).statusCode).to.equal(200);
  });

  it('gives an unverified certificate no budget of its own (regression: a new key pair bought a fresh one)', async () => {
    // Certificates of a CA outside the channel: TLS accepts them, authentication would not.
    const outsider = await TestPki.create();
    const get = async () =>
      gateway.request(await outsider.role('DSOMSP', 'dso', `dso-${Math.random()}`), {
        method: 'GET',
        url: '/public',
        remoteAddress: '10.0.0.9',
      });
    expect((await get()).statusCode).to.equal(200);
    expect((await get()).statusCode).to.equal(200);
    expect((await get()).statusCode).to.equal(429);
  });

  it('derives the key from the verified caller only, else the IP', async () => {
    const certificate = await gateway.pki.role('DSOMSP', 'dso');
    const anonymous = { ip: '10.1.2.3', caller: null } as unknown as Parameters<typeof rateLimitKey>[0];
    expect(rateLimitKey(anonymous)).to.equal('ip:10.1.2.3');
    const verified = { ip: '10.1.2.3', caller: { certificate } } as unknown as Parameters<
      typeof rateLimitKey
    >[0];
    expect(rateLimitKey(verified)).to.equal(`caller:${certificate.fingerprint256}`);
  });

  it('counts failed authentications per address and refuses the address before checking more certificates', async () => {
    const outsider = await TestPki.create();
    const stranger = await outsider.role('DSOMSP', 'dso');
    const operator = await gateway.pki.role('DSOMSP', 'dso');
    const get = (certificate: X509Certificate | undefined, remoteAddress: string) =>
      gateway.request(certificate, { method: 'GET', url: '/v1/slots/slot-1', remoteAddress });

    expect((await get(stranger, '10.0.0.5')).statusCode).to.equal(401);
    expect((await get(undefined, '10.0.0.5')).statusCode).to.equal(401);
    expectRateLimited(
      await get(stranger, '10.0.0.5'),
      'more than 2 failed authentications from this address; retry in 60 s',
    );
    // The address is refused as a whole for the rest of the window; other addresses are not.
    expect((await get(operator, '10.0.0.5')).statusCode).to.equal(429);
    expect((await get(operator, '10.0.0.6')).statusCode).to.equal(200);
    expect((await get(stranger, '10.0.0.6')).statusCode).to.equal(401);

    now += 60_000;
    expect((await get(operator, '10.0.0.5')).statusCode).to.equal(200);
    // Successful authentications do not count against the address (10.0.0.6 failed once).
    const colleague = await gateway.pki.role('DSOMSP', 'dso', 'dso-2');
    expect((await get(colleague, '10.0.0.6')).statusCode).to.equal(200);
    expect((await get(colleague, '10.0.0.6')).statusCode).to.equal(200);
  });

  it('forgets the oldest addresses beyond its bound and refuses a limit that is not a positive integer', () => {
    let clock = 0;
    const limiter = new FailedAuthenticationLimiter({ max: 1, maxAddresses: 2, now: () => clock });
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    limiter.recordFailure('c');
    expect(limiter.retryAfterMs('a')).to.equal(undefined);
    expect(limiter.retryAfterMs('b')).to.equal(60_000);
    clock = 59_999;
    expect(limiter.retryAfterMs('c')).to.equal(1);
    clock = 60_000;
    expect(limiter.retryAfterMs('c')).to.equal(undefined);
    for (const max of [0, -1, 1.5, Number.NaN]) {
      expect(() => new FailedAuthenticationLimiter({ max })).to.throw(RangeError);
    }
  });

  it('limits failed authentications in every gateway by default (30 per minute and address)', async () => {
    const defaults = await TestGateway.create('DSOMSP', ['dso']);
    try {
      for (let attempt = 0; attempt < 30; attempt += 1) {
        expect(
          (await defaults.request(undefined, { method: 'GET', url: '/v1/slots/slot-1' })).statusCode,
        ).to.equal(401);
      }
      expect(
        (await defaults.request(undefined, { method: 'GET', url: '/v1/slots/slot-1' })).statusCode,
      ).to.equal(429);
    } finally {
      await defaults.app.close();
    }
  });
});
