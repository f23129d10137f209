import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app';
import type { X509Certificate } from 'node:crypto';
import { FakeLedger } from './support/fake-ledger';
import { issueCredentials, issueServer, TestPki, fabricAttributesExtension } from './support/pki';

/**
 * A gateway on a real mutual-TLS server: a kept-alive connection is authenticated once, and its
 * later requests are checked only for what can change meanwhile.
 */
describe('authentication on kept-alive mutual-TLS connections', () => {
  let pki: TestPki;
  let app: FastifyInstance;
  let revoked = false;
  let authenticated = 0;
  let agent: https.Agent;
  let port: number;

  before(async () => {
    pki = await TestPki.create();
    const server = await issueServer(pki.ca('UtilityAMSP'));
    const device = await issueCredentials(pki.ca('UtilityAMSP'), 'CN=hems-home-7', [
      fabricAttributesExtension({ 'hems.role': 'hems', 'hems.home': 'home-7', 'hems.bus': 'bus-1' }),
    ]);
    const ledger = new FakeLedger('UtilityAMSP', ['relay']);
    ledger.on('GetSlot', {
      slotId: 'slot-1',
      status: 'OPEN',
      deadline: '2030-01-01T10:00:00.000Z',
      prices: { default: { lower: 20, upper: 80 }, buses: [] },
      aggregates: [],
      busTotals: [],
    });
    const trust = pki.trustStore({ isRevoked: () => revoked });
    const authenticate = trust.authenticate.bind(trust);
    trust.authenticate = (certificate: X509Certificate | undefined) => {
      authenticated += 1;
      return authenticate(certificate);
    };
    app = await buildApp({
      ledger,
      trust,
      logger: false,
      https: {
        key: server.keyPem,
        cert: server.certificatePem,
        ca: trust.caCertificatesPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    agent = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: pki.ca('UtilityAMSP').pem,
      cert: device.certificatePem,
      key: device.keyPem,
    });
  });

  after(async () => {
    agent.destroy();
    await app.close();
  });

  const get = (): Promise<number> =>
    new Promise((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port, path: '/v1/slots/slot-1', agent, servername: 'localhost' },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
          },
        )
        .on('error', reject);
    });

  it('authenticates a connection once, and still refuses its requests once the certificate is revoked', async () => {
    expect(await get()).to.equal(200);
    expect(await get()).to.equal(200);
    expect(await get()).to.equal(200);
    expect(authenticated).to.equal(1);
    revoked = true;
    expect(await get()).to.equal(401);
    expect(authenticated).to.equal(1);
  });
});
