import type { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, LOG_REDACTIONS } from '../../src/app';
import type { RevocationSource } from '../../src/identity/trust-store';
import type { ServiceIdentity } from '../../src/ledger/ports';
import type { DeviceRoutesOptions } from '../../src/routes/devices';
import type { AggregationFanOut } from '../../src/services/utility-gateways';
import { FakeLedger } from './fake-ledger';
import { TestPki } from './pki';

const CLIENT_HEADER = 'x-test-client';

/**
 * A gateway of `mspId` over a fake contract, with route tests' client certificates passed by
 * reference in a test-only header (app.inject has no TLS socket). Production reads the mTLS peer
 * certificate instead; that source is never configurable from a request.
 */
export class TestGateway {
  private constructor(
    readonly app: FastifyInstance,
    readonly ledger: FakeLedger,
    readonly pki: TestPki,
    private readonly clients: Map<string, X509Certificate>,
  ) {}

  static async create(
    mspId: string,
    identities: readonly ServiceIdentity[],
    options: {
      pki?: TestPki;
      revocations?: RevocationSource;
      devices?: DeviceRoutesOptions;
      aggregationFanOut?: AggregationFanOut;
      /** Collects every log line at trace level, redacted as in production. */
      logs?: string[];
    } = {},
  ): Promise<TestGateway> {
    const pki = options.pki ?? (await TestPki.create());
    const ledger = new FakeLedger(mspId, identities);
    const clients = new Map<string, X509Certificate>();
    const app = await buildApp({
      ledger,
      trust: pki.trustStore(options.revocations),
      clientCertificate: (request) => {
        const name = request.headers[CLIENT_HEADER];
        return typeof name === 'string' ? clients.get(name) : undefined;
      },
      logger:
        options.logs === undefined
          ? false
          : {
              level: 'trace',
              redact: { paths: LOG_REDACTIONS, censor: '[redacted]' },
              stream: new Writable({
                write(chunk: Buffer, _encoding, callback) {
                  options.logs?.push(chunk.toString('utf8'));
                  callback();
                },
              }),
            },
      devices: options.devices,
      aggregationFanOut: options.aggregationFanOut,
    });
    return new TestGateway(app, ledger, pki, clients);
  }

  /** Sends a request as the holder of `certificate` (or without one). */
  async request(
    certificate: X509Certificate | undefined,
    options: InjectOptions,
  ): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { ...(options.headers as Record<string, string> | undefined) };
    if (certificate !== undefined) {
      const name = certificate.fingerprint256;
      this.clients.set(name, certificate);
      headers[CLIENT_HEADER] = name;
    }
    return this.app.inject({ ...options, headers });
  }
}
