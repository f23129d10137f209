/**
 * The OpenADR VTN tests' fixture: a VTN app over fakes (a VEN registry in memory, a slot directory
 * of SlotView fixtures, sinon stubs for the batchers and the allowed-power book) and a real trust
 * store of the gateway tests' PKI, with two VENs of UtilityAMSP and a DSO client certificate.
 */
import type { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import type { SlotView } from '@hems/protocol';
import { normalizeSerial } from '@hems/protocol';
import type { FastifyInstance, FastifyRequest, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'chai';
import sinon from 'sinon';
import { AccessTokens } from '../../src/openadr/auth/access-tokens';
import { certificateThumbprint } from '../../src/openadr/auth/clients';
import { buildVtnApp, VTN_LOG_REDACTIONS, type VtnAppOptions } from '../../src/openadr/app';
import { SlotDirectory, type SlotListener } from '../../src/openadr/slot-directory';
import { basePath, SCOPES, type OpenAdrVersion } from '../../src/openadr/versions';
import type { EventingLedger } from '../../src/ledger/ports';
import type { AllowedPowerBook } from '../../src/services/allowed-powers';
import type { ConsumptionBatcher } from '../../src/services/consumption-batcher';
import type { ForecastBatcher } from '../../src/services/forecast-batcher';
import type { VenRecord, VenRegistry, VenSummary } from '../../src/services/ven-registry';
import { hashVenSecret } from '../../src/services/ven-secrets';
import { TestPki } from './pki';

export const ORG = 'UtilityAMSP';
export const TOKEN_KEY = Buffer.alloc(32, 7);
export const VERSIONS: readonly OpenAdrVersion[] = ['3.1.0', '3.0.1'];

/** A slot id with every character the object ids escape. */
export const SLOT_OLD = 'slot:2030-01-01T10.00_a';
/** The newest slot, dispatched. */
export const SLOT_NEW = 'slot:2030-01-01T10.15_b';

export interface TestVen {
  readonly clientId: string;
  readonly secret: string;
  readonly venId: string;
  readonly venName: string;
  readonly homeId: string;
  readonly bus: string;
  readonly certificate: X509Certificate;
  readonly record: VenRecord;
}

/** The PKI, VENs and DSO certificate of a spec file (made once: scrypt and key generation are slow). */
export interface VtnPeople {
  readonly pki: TestPki;
  readonly a: TestVen;
  readonly b: TestVen;
  readonly dso: X509Certificate;
}

/** A VEN whose home certificate `mspId`'s CA issued (another org's VEN is not this VTN's). */
export async function testVen(pki: TestPki, n: string, bus: string, mspId = ORG): Promise<TestVen> {
  const homeId = `home-${n}`;
  const certificate = await pki.device(mspId, homeId, bus);
  const clientId = `client-${n}-0123456789abcdef`;
  const secret = `secret-${n}-${'s'.repeat(24)}`;
  const venId = `ven-${n}`;
  const venName = `ven-name-${n}`;
  const record: VenRecord = {
    clientId,
    venId,
    venName,
    homeId,
    bus,
    certificate: certificate.toString(),
    secret: await hashVenSecret(secret),
    createdAt: '2030-01-01T00:00:00.000Z',
  };
  return { clientId, secret, venId, venName, homeId, bus, certificate, record };
}

export async function vtnPeople(): Promise<VtnPeople> {
  const pki = await TestPki.create();
  const [a, b] = await Promise.all([testVen(pki, 'a', 'bus-1'), testVen(pki, 'b', 'bus-1')]);
  return { pki, a, b, dso: await pki.role('DSOMSP', 'dso') };
}

/** VEN records in memory, as VenRegistry answers them. */
export class FakeVenRegistry {
  readonly records = new Map<string, VenRecord>();

  add(...vens: TestVen[]): this {
    vens.forEach((ven) => this.records.set(ven.clientId, ven.record));
    return this;
  }

  find(clientId: string): Promise<VenRecord | undefined> {
    return Promise.resolve(this.records.get(clientId));
  }

  register(): Promise<{ registeredAt: string }> {
    return Promise.reject(new Error('not used by the VTN'));
  }

  revoke(clientId: string): Promise<{ revokedAt: string }> {
    const record = this.records.get(clientId);
    const revokedAt = new Date().toISOString();
    if (record !== undefined) {
      this.records.set(clientId, { ...record, revokedAt });
    }
    return Promise.resolve({ revokedAt });
  }

  list(): Promise<VenSummary[]> {
    return Promise.resolve([...this.records.values()]);
  }
}

/** A slot directory of SlotView fixtures, newest first; `listener` is the VTN's subscriptions. */
export class FakeSlots extends SlotDirectory {
  readonly views = new Map<string, SlotView>();
  readonly order: string[] = [];
  listener: SlotListener | undefined;

  constructor() {
    super({ ledger: {} as EventingLedger });
  }

  add(view: SlotView): this {
    this.views.set(view.slotId, view);
    this.order.unshift(view.slotId);
    return this;
  }

  override listen(listener: SlotListener): void {
    this.listener = listener;
  }

  override recent(): readonly string[] {
    return this.order;
  }

  override slot(slotId: string): Promise<SlotView> {
    const view = this.views.get(slotId);
    return view === undefined ? Promise.reject(new Error('NOT_FOUND')) : Promise.resolve(view);
  }
}

/** A slot of UtilityAMSP's bus-1 and bus-2 (and UtilityBMSP's bus-3), priced per bus. */
export function slotView(slotId: string, dispatched: boolean): SlotView {
  return {
    slotId,
    status: dispatched ? 'DISPATCHED' : 'OPEN',
    deadline: '2030-01-01T10:00:00.000Z',
    openedAt: '2030-01-01T09:00:00.000Z',
    prices: {
      buses: [
        { bus: 'bus-1', lower: 40, upper: 60 },
        { bus: 'bus-2', lower: 45, upper: 75 },
        { bus: 'bus-3', lower: 10, upper: 20 },
      ],
    },
    expected: [
      { org: ORG, bus: 'bus-1', homes: 2 },
      { org: ORG, bus: 'bus-2', homes: 1 },
      { org: 'UtilityBMSP', bus: 'bus-3', homes: 1 },
    ],
    aggregates: [],
    busTotals: [],
    ...(dispatched
      ? {
          dispatch: {
            lambda: 0.5,
            perBus: [{ bus: 'bus-1', lambda: 0.5 }],
            revision: 1,
            publishedAt: '2030-01-01T09:59:00.000Z',
          },
        }
      : {}),
  };
}

export interface Vtn {
  readonly app: FastifyInstance;
  readonly registry: FakeVenRegistry;
  readonly slots: FakeSlots;
  readonly forecasts: { submit: sinon.SinonStub };
  readonly consumption: { submit: sinon.SinonStub };
  readonly allowedPowers: { allowedPowerOf: sinon.SinonStub; forecastBatchOf: sinon.SinonStub };
  readonly fetch: sinon.SinonStub;
  /** Serials of revoked certificates (the trust store's revocation list). */
  readonly revoked: Set<string>;
  /** Every log line at trace level, redacted as in production. */
  readonly logs: string[];
  /** The DSO's certificate, which business-logic tokens are bound to. */
  readonly dso: X509Certificate;
}

const DSO_HEADER = 'x-test-dso';

/** A VTN over fakes, with both VENs registered and SLOT_OLD then SLOT_NEW (dispatched) opened. */
export async function startVtn(people: VtnPeople, options: Partial<VtnAppOptions> = {}): Promise<Vtn> {
  const registry = new FakeVenRegistry().add(people.a, people.b);
  const slots = new FakeSlots().add(slotView(SLOT_OLD, false)).add(slotView(SLOT_NEW, true));
  const revoked = new Set<string>();
  const logs: string[] = [];
  const forecasts = {
    submit: sinon
      .stub()
      .resolves({ slotId: SLOT_NEW, txId: 'f'.repeat(64), acceptedAt: 'now', replayed: false }),
  };
  const consumption = {
    submit: sinon.stub().resolves({ slotId: SLOT_NEW, txId: 'c'.repeat(64), recordedAt: 'now' }),
  };
  const allowedPowers = {
    allowedPowerOf: sinon.stub().callsFake((slotId: string, device: { homeId: string }) =>
      Promise.resolve({
        slotId,
        lambda: 0.5,
        allowedKw: device.homeId === people.a.homeId ? 3.5 : 4.5,
        revision: 1,
      }),
    ),
    forecastBatchOf: sinon.stub().resolves('batch-tx-1'),
  };
  const fetch = sinon.stub().resolves({ arrayBuffer: () => Promise.resolve(new ArrayBuffer(0)) });
  const app = await buildVtnApp({
    org: ORG,
    trust: people.pki.trustStore({ isRevoked: (_mspId, serial) => revoked.has(serial) }),
    registry: registry as unknown as VenRegistry,
    tokenKey: TOKEN_KEY,
    slots,
    allowedPowers: allowedPowers as unknown as AllowedPowerBook,
    forecasts: forecasts as unknown as ForecastBatcher,
    consumption: consumption as unknown as ConsumptionBatcher,
    fetch: fetch,
    // The callbacks' example hosts resolve to a public address (the policy refuses private ones).
    resolveCallbackHost: () => Promise.resolve(['93.184.216.34']),
    clientCertificate: (request: FastifyRequest) =>
      request.headers[DSO_HEADER] === '1' ? people.dso : undefined,
    logger: {
      level: 'trace',
      redact: { paths: VTN_LOG_REDACTIONS, censor: '[redacted]' },
      stream: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          logs.push(chunk.toString('utf8'));
          callback();
        },
      }),
    },
    ...options,
  });
  return {
    app,
    registry,
    slots,
    forecasts,
    consumption,
    allowedPowers,
    fetch,
    revoked,
    logs,
    dso: people.dso,
  };
}

/** Headers that present the DSO's mutual-TLS certificate (the test's clientCertificate source). */
export const DSO_CERTIFICATE = { [DSO_HEADER]: '1' } as const;

/** The revocation-list serial of a certificate. */
export const serialOf = (certificate: X509Certificate): string => normalizeSerial(certificate.serialNumber);

/** A bearer token the VTN would issue to a VEN (or, with role bl, to the DSO's business logic). */
export function bearer(
  version: OpenAdrVersion,
  sub: string,
  role: 'ven' | 'bl' = 'ven',
): Record<string, string> {
  const { token } = new AccessTokens(TOKEN_KEY).issue({ sub, role, scope: SCOPES[version][role] });
  return { authorization: `Bearer ${token}` };
}

/**
 * What the DSO's business logic sends: a token bound to its certificate (RFC 8705), on a
 * connection that presents that certificate.
 */
export function blBearer(
  version: OpenAdrVersion,
  vtn: { readonly dso: X509Certificate },
): Record<string, string> {
  const { token } = new AccessTokens(TOKEN_KEY).issue({
    sub: 'bl:DSOMSP',
    role: 'bl',
    scope: SCOPES[version].bl,
    cnf: { 'x5t#S256': certificateThumbprint(vtn.dso) },
  });
  return { authorization: `Bearer ${token}`, ...DSO_CERTIFICATE };
}

/** A request to `path` under the version's base path. */
export function call(
  app: FastifyInstance,
  version: OpenAdrVersion,
  method: InjectOptions['method'],
  path: string,
  headers: Record<string, string>,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url: `${basePath(version)}${path}`,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

/** The Basic header of a client id and secret (RFC 6749 2.3.1). */
export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const;

/** The answer is a problem object (RFC 7807) of `status`; answers its body. */
export function expectProblem(response: LightMyRequestResponse, status: number): Record<string, unknown> {
  expect(response.statusCode, response.body).to.equal(status);
  const body = response.json<Record<string, unknown>>();
  expect(body).to.include({ type: 'about:blank', status });
  return body;
}
