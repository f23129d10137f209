import type { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, LOG_REDACTIONS } from '../../src/app';
import type { RevocationSource } from '../../src/identity/trust-store';
import type { ServiceIdentity } from '../../src/ledger/ports';
import type { DeviceRoutesOptions } from '../../src/resources/devices/routes';
import type { ForecastBatchOptions } from '../../src/services/forecast-batcher';
import { createRelayServices } from '../../src/services/relay-services';
import type { AggregationFanOut } from '../../src/services/utility-gateways';
import { FakeLedger } from './fake-ledger';
import { TestPki } from './pki';

const CLIENT_HEADER = 'x-test-client';

/**
 * Route tests' client certificates, passed by reference in a test-only header (app.inject has no
 * TLS socket). Production reads the mTLS peer certificate instead; that source is never
 * configurable from a request.
 */
export class TestClients {
  private readonly byName = new Map<string, X509Certificate>();

  /** The client certificate source the authentication plugin reads. */
  readonly source = (request: { headers: Record<string, unknown> }): X509Certificate | undefined => {
    const name = request.headers[CLIENT_HEADER];
    return typeof name === 'string' ? this.byName.get(name) : undefined;
  };

  /** Headers that authenticate a request as the holder of `certificate`. */
  headersFor(certificate: X509Certificate): Record<string, string> {
    this.byName.set(certificate.fingerprint256, certificate);
    return { [CLIENT_HEADER]: certificate.fingerprint256 };
  }

  /** Injects a request as the holder of `certificate` (or without one). */
  inject(
    app: FastifyInstance,
    certificate: X509Certificate | undefined,
    options: InjectOptions,
  ): Promise<LightMyRequestResponse> {
    const headers = {
      ...(options.headers as Record<string, string> | undefined),
      ...(certificate === undefined ? {} : this.headersFor(certificate)),
    };
    return app.inject({ ...options, headers });
  }
}

/** An app under test over a fake ledger, with route tests' client certificates (TestClients). */
export class TestApp {
  constructor(
    readonly app: FastifyInstance,
    readonly ledger: FakeLedger,
    readonly pki: TestPki,
    protected readonly clients: TestClients,
  ) {}

  /** Headers that authenticate a request as the holder of `certificate`. */
  headersFor(certificate: X509Certificate): Record<string, string> {
    return this.clients.headersFor(certificate);
  }

  /** Sends a request as the holder of `certificate` (or without one). */
  request(certificate: X509Certificate | undefined, options: InjectOptions): Promise<LightMyRequestResponse> {
    return this.clients.inject(this.app, certificate, options);
  }
}

/** A gateway of `mspId` over a fake contract, with route tests' client certificates (TestClients). */
export class TestGateway extends TestApp {
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
      /** Batches device forecasts, reports and orders as a production utility gateway does. */
      forecastBatch?: ForecastBatchOptions;
    } = {},
  ): Promise<TestGateway> {
    const pki = options.pki ?? (await TestPki.create());
    const ledger = new FakeLedger(mspId, identities);
    const clients = new TestClients();
    const { allowedPowers, forecastBatcher, consumptionBatcher, orderBatcher } = createRelayServices(
      ledger,
      options.forecastBatch,
    );
    const app = await buildApp({
      ledger,
      allowedPowers,
      ...(forecastBatcher === undefined ? {} : { forecastBatcher }),
      ...(consumptionBatcher === undefined ? {} : { consumptionBatcher }),
      ...(orderBatcher === undefined ? {} : { orderBatcher }),
      trust: pki.trustStore(options.revocations),
      clientCertificate: clients.source,
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

  /** GET `url` as the holder of `certificate`. */
  get(
    certificate: X509Certificate | undefined,
    url: string,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return this.request(certificate, { method: 'GET', url, headers });
  }

  /** POST `payload` (none when undefined) to `url` as the holder of `certificate`. */
  post(
    certificate: X509Certificate | undefined,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return this.request(certificate, {
      method: 'POST',
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
      headers,
    });
  }
}
