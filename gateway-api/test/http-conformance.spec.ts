import { connect, createServer } from 'node:net';
import { expect } from 'chai';
import Fastify from 'fastify';
import { answerClientError, DeclaredMethods } from '../src/plugins/http-conformance';
import { createAggregationFanOut } from '../src/services/utility-gateways';
import { gatewaySuite } from './support/suite';
import { expectError, expectNoneOf } from './support/expectations';

/** Sends `request` as raw bytes to a listening server and answers what came back. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

describe('HTTP conformance of every route', () => {
  const suite = gatewaySuite(async (pki) => ({
    admin: await pki.role('UtilityAMSP', 'admin', 'orgadmin'),
    auditor: await pki.role('RegulatorMSP', 'auditor', 'auditor'),
  }));

  it('answers 405 with Allow for an undeclared method on a known path, and 404 for an unknown path', async () => {
    for (const [method, url, allowed] of [
      ['DELETE', '/v1/windows', 'GET, HEAD, POST'],
      ['PATCH', '/v1/windows/w-1', 'GET, HEAD'],
      ['PUT', '/v1/slots/s-1/aggregates', 'GET, HEAD, POST'],
      ['OPTIONS', '/v1/windows/w-1/orders', 'DELETE, POST'],
    ] as const) {
      const response = await suite.gateway.request(suite.auditor, { method, url });
      expectError(response, 405, 'METHOD_NOT_ALLOWED');
      expect(response.headers.allow, `${method} ${url}`).to.equal(allowed);
    }
    expectError(await suite.gateway.get(suite.auditor, '/v1/nothing-here'), 404, 'NOT_FOUND');
    expectError(await suite.gateway.get(suite.auditor, '/v1/windows/w-1/nothing'), 404, 'NOT_FOUND');
  });

  it('answers every undeclared method of every documented path 405 with exactly the declared methods in Allow', async () => {
    const document = (await suite.gateway.get(undefined, '/docs/json')).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const methods = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'] as const;
    let checked = 0;
    for (const [template, operations] of Object.entries(document.paths)) {
      const declared = Object.keys(operations).map((method) => method.toUpperCase());
      // A concrete path of the template: a valid-looking value for every parameter.
      const path = template.replace(/\{([^}]+)\}/g, (_all, name: string) =>
        name === 'accountId'
          ? `acct-${'0'.repeat(32)}`
          : name === 'number'
            ? '1'
            : name === 'txId'
              ? 'a'.repeat(64)
              : 'x-1',
      );
      for (const method of methods.filter((candidate) => !declared.includes(candidate))) {
        const response = await suite.gateway.request(suite.auditor, { method, url: path });
        expect(response.statusCode, `${method} ${path}`).to.equal(405);
        const allow = String(response.headers.allow).split(', ');
        expect(allow, `${method} ${path}`).to.include.members(declared);
        expect(
          allow.filter((name) => name !== 'HEAD'),
          `${method} ${path}`,
        ).to.have.members(declared);
        checked += 1;
      }
    }
    expect(checked).to.be.greaterThan(150);
  });

  it('takes JSON bodies only: text/plain is 415, malformed JSON a 400 that never quotes the body', async () => {
    const plain = await suite.gateway.request(suite.admin, {
      method: 'POST',
      url: '/v1/slots/s-1/aggregates',
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expectError(plain, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const malformed = await suite.gateway.request(suite.admin, {
      method: 'POST',
      url: '/v1/devices',
      payload: '{"homeId": secret-4711',
      headers: { 'content-type': 'application/json' },
    });
    expectError(malformed, 400, 'INVALID_REQUEST');
    expectNoneOf(malformed.body, ['secret-4711', 'secret']);
    expect(malformed.json()).to.deep.equal({
      statusCode: 400,
      code: 'INVALID_REQUEST',
      message: 'the request body is not valid JSON',
    });
  });

  it('refuses a body on a route that takes none, before the ledger is asked', async () => {
    const response = await suite.gateway.post(suite.admin, '/v1/slots/s-1/aggregates', { unknown: 1 });
    expectError(response, 400, 'INVALID_REQUEST');
    expect(response.json<{ message: string }>().message).to.equal('this operation takes no request body');
    expect(suite.gateway.ledger.calls).to.deep.equal([]);
  });

  it('documents client and server errors on every operation of the OpenAPI document', async () => {
    const document = (await suite.gateway.get(undefined, '/docs/json')).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).to.be.greaterThan(30);
    for (const { path, method, operation } of operations) {
      expect(Object.keys(operation.responses), `${method} ${path}`).to.include.members(['4XX', '5XX']);
    }
  });

  it('answers a request the HTTP parser refuses in the API error shape (malformed line, oversized headers)', async () => {
    const app = Fastify({ clientErrorHandler: answerClientError, logger: false });
    app.get('/', () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as { port: number };
      const garbage = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
      expect(garbage).to.match(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).to.deep.equal({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: 'the request is not valid HTTP',
      });
      const huge = await rawExchange(
        port,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expect(huge).to.match(/^HTTP\/1\.1 431 /);
      expect(huge).to.include('"code":"BAD_REQUEST"');
    } finally {
      await app.close();
    }
  });

  it('matches concrete paths against declared ones segment by segment', () => {
    const declared = new DeclaredMethods();
    declared.add('/v1/slots/:slotId', ['GET', 'HEAD']);
    declared.add('/v1/slots/:slotId/receipt', ['GET']);
    declared.add('/v1/slots', ['GET', 'POST']);
    expect(declared.allowedFor('/v1/slots/s-1')).to.deep.equal(['GET', 'HEAD']);
    expect(declared.allowedFor('/v1/slots/s-1/')).to.deep.equal(['GET', 'HEAD']);
    expect(declared.allowedFor('/v1/slots/s-1/receipt')).to.deep.equal(['GET']);
    expect(declared.allowedFor('/v1/slots/a/b/c')).to.deep.equal([]);
    expect(declared.allowedFor('/v1/slotsX')).to.deep.equal([]);
  });
});

describe("the DSO's aggregation fan-out to a utility gateway that is down", () => {
  it('answers 503 in the API shape without the socket error text, host or port', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const fanOut = createAggregationFanOut(
      [{ mspId: 'UtilityBMSP', url: `https://127.0.0.1:${port}`, caPem: '' }],
      { certificatePem: '', privateKeyPem: '' },
      2000,
    );
    const [outcome] = await fanOut('slot-1');
    expect(outcome).to.deep.equal({
      org: 'UtilityBMSP',
      statusCode: 503,
      result: { code: 'UTILITY_GATEWAY_UNAVAILABLE', message: 'the utility gateway is not reachable' },
    });
    expectNoneOf(JSON.stringify(outcome), ['ECONNREFUSED', '127.0.0.1', String(port)]);
  });
});
