import type { ServiceIdentity } from '../../src/ledger/ports';
import { TestGateway } from './gateway';
import { TestPki } from './pki';

/** The service identities of a utility gateway and of the DSO gateway in the route tests. */
export const UTILITY_IDENTITIES: readonly ServiceIdentity[] = ['relay', 'meter', 'admin'];
export const DSO_IDENTITIES: readonly ServiceIdentity[] = ['dso', 'market', 'admin'];

/** A suite's fixture, filled in as its hooks run, with its client certificates (made once per suite). */
export type GatewaySuite<Certificates> = Readonly<Certificates> & SuiteGateways;

interface SuiteGateways {
  /** One test PKI per suite. */
  readonly pki: TestPki;
  /** A fresh UtilityAMSP gateway per test, logging at trace level into `logs`. */
  readonly gateway: TestGateway;
  readonly logs: string[];
  /** A fresh DSOMSP gateway per test, when the suite asked for one. */
  readonly dso: TestGateway;
}

/**
 * Registers the hooks of a suite on a utility gateway (in a `describe`): its PKI and
 * `certificates` before the suite, a fresh gateway (of `identities`; with `dso`, a DSO gateway too) before each
 * test, closed after it. Answers the fixture the hooks fill in.
 */
export function gatewaySuite<Certificates>(
  certificates: (pki: TestPki) => Promise<Certificates>,
  options: { readonly dso?: boolean; readonly identities?: readonly ServiceIdentity[] } = {},
): GatewaySuite<Certificates> {
  const suite = {} as { -readonly [Key in keyof SuiteGateways]: SuiteGateways[Key] };
  before(async () => {
    suite.pki = await TestPki.create();
    Object.assign(suite, await certificates(suite.pki));
  });
  beforeEach(async () => {
    suite.logs = [];
    suite.gateway = await TestGateway.create('UtilityAMSP', options.identities ?? UTILITY_IDENTITIES, {
      pki: suite.pki,
      logs: suite.logs,
    });
    if (options.dso === true) {
      suite.dso = await TestGateway.create('DSOMSP', DSO_IDENTITIES, { pki: suite.pki });
    }
  });
  afterEach(async () => {
    await suite.gateway.app.close();
    await (options.dso === true ? suite.dso.app.close() : undefined);
  });
  return suite as GatewaySuite<Certificates>;
}

/**
 * Registers hooks that give each test of the suite a fresh gateway of `mspId` with `identities`
 * (its own test PKI) and the `certificates` made from that PKI, closed after the test; answers the
 * fixture they fill in.
 */
export function freshGateway<Certificates extends object = object>(
  mspId: string,
  identities: readonly ServiceIdentity[],
  certificates: (gateway: TestGateway) => Promise<Certificates> = () => Promise.resolve({} as Certificates),
): { readonly gateway: TestGateway } & Readonly<Certificates> {
  const suite = {} as { gateway: TestGateway };
  beforeEach(async () => {
    suite.gateway = await TestGateway.create(mspId, identities);
    Object.assign(suite, await certificates(suite.gateway));
  });
  afterEach(() => suite.gateway.app.close());
  return suite as { readonly gateway: TestGateway } & Readonly<Certificates>;
}
