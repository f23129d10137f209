import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '@hems/gateway-api/src/app';
import type { TestPki } from '@hems/gateway-api/test/support/pki';
import { issueServer, type TestCa } from '@hems/testkit';

/**
 * The real gateway app in process over HTTPS, as a device meets it: a server certificate from
 * `tlsCa`, the channel's CAs of `pki` as trust roots, client certificates requested (mutual TLS)
 * and judged by the app itself.
 */
export async function listenGateway(
  pki: TestPki,
  tlsCa: TestCa,
  options: Omit<AppOptions, 'trust' | 'logger' | 'https'>,
): Promise<{ app: FastifyInstance; url: string }> {
  const tls = await issueServer(tlsCa, 'gateway.utilitya');
  const app = await buildApp({
    ...options,
    trust: pki.trustStore(),
    logger: false,
    https: {
      key: tls.keyPem,
      cert: tls.certificatePem,
      ca: [...pki.cas.values()].map((org) => org.pem),
      requestCert: true,
      rejectUnauthorized: false,
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `https://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}
