import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { findIdentity, loadNetworkDescription, type NetworkDescription } from '@hems/network-client';
import {
  callGateway,
  ensureSchemathesis,
  gatewayUrl,
  GatewayProcesses,
  runSchemathesis,
  type FuzzResult,
} from '@hems/testkit';
import { UTILITY_A, UTILITY_B } from './support/actors';
import { dsoRequest, gatewayCaFile, ok, venOp, vtnOrigin, type Ven } from './support/openadr';
import {
  adminOf,
  AUDITOR,
  DSO_OPERATOR,
  MARKET,
  meterOf,
  useE2eGatewayPorts,
  type Caller,
} from './support/gateways';
import { E2E_STATE_DIR } from './support/network';

useE2eGatewayPorts();

/** Generated examples per operation and phase. */
const MAX_EXAMPLES = Number(process.env.HEMS_FUZZ_EXAMPLES ?? 10);
/**
 * Seconds each run may take: Schemathesis itself is the bottleneck on 2 cores (some 130 cases/s),
 * so the whole suite stays within about ten minutes. HEMS_FUZZ_SECONDS=600 fuzzes deeper.
 */
const FUZZ_SECONDS = Number(process.env.HEMS_FUZZ_SECONDS ?? 75);

/**
 * Each gateway as each role it serves. The event stream is left out: it never ends by design, so
 * every generated case would cost the request timeout; its refusals are covered by the unit tests.
 */
const RUNS: readonly { readonly gateway: string; readonly caller: Caller }[] = [
  { gateway: UTILITY_A, caller: { mspId: UTILITY_A, name: 'hems-a-006' } },
  { gateway: UTILITY_A, caller: adminOf(UTILITY_A) },
  { gateway: UTILITY_A, caller: meterOf(UTILITY_A) },
  { gateway: UTILITY_B, caller: adminOf(UTILITY_B) },
  { gateway: 'DSOMSP', caller: DSO_OPERATOR },
  { gateway: 'DSOMSP', caller: MARKET },
  { gateway: 'RegulatorMSP', caller: AUDITOR },
];

function filesOf(
  description: NetworkDescription,
  caller: Caller,
): { certificateFile: string; keyFile: string } {
  const identity = findIdentity(description, caller.mspId, caller.name);
  const keystore = path.join(identity.mspPath, 'keystore');
  const key = readdirSync(keystore).find((name) => name.endsWith('_sk'));
  if (key === undefined) {
    throw new Error(`no key of ${caller.name}`);
  }
  return {
    certificateFile: path.join(identity.mspPath, 'signcerts', 'cert.pem'),
    keyFile: path.join(keystore, key),
  };
}

function caFileOf(description: NetworkDescription, mspId: string): string {
  const ca = description.certificateAuthorities.find((candidate) => candidate.mspId === mspId);
  if (ca === undefined) {
    throw new Error(`no CA of ${mspId}`);
  }
  return ca.tlsCertPath;
}

/** A failing run's failures, one line each, for the assertion message. */
function explain(result: FuzzResult): string {
  const lines = result.failures.map(
    (failure) => `${failure.operation}: ${failure.message.split('\n').slice(0, 6).join(' | ')}`,
  );
  return [
    `${result.label}: exit ${result.exitCode}`,
    ...lines,
    lines.length === 0 ? result.output.slice(-3000) : '',
  ].join('\n');
}

describe('schema-driven fuzzing of every gateway (Schemathesis, mutual TLS, each role)', function () {
  const gateways = new GatewayProcesses(E2E_STATE_DIR);
  let description: NetworkDescription;
  let st: string;
  const results: FuzzResult[] = [];

  before(async function () {
    this.timeout(300_000);
    st = ensureSchemathesis();
    description = loadNetworkDescription(E2E_STATE_DIR);
    await gateways.start(description, ['DSOMSP', UTILITY_A, UTILITY_B, 'RegulatorMSP']);
  });

  after(async function () {
    this.timeout(60_000);
    await gateways.stop();
    const operations = results.reduce((sum, result) => sum + result.operations, 0);
    const generated = results.reduce((sum, result) => sum + result.generated, 0);
    console.log(
      `      fuzzing: ${results.length} runs, ${operations} operations, ${generated} generated cases, ` +
        `${results.reduce((sum, result) => sum + result.seconds, 0).toFixed(0)} s`,
    );
  });

  /**
   * UtilityA's OpenADR VTN (its own listener and OpenAPI document, both versions): as a VEN with a
   * bearer token and no certificate, and as the DSO's business logic (mutual TLS and a token bound
   * to its certificate).
   */
  describe("UtilityA's OpenADR 3 VTN", () => {
    let ven: Ven;
    let venToken: string;
    let blToken: string;

    before(async function () {
      this.timeout(300_000);
      const issued = await callGateway<Ven>(description, UTILITY_A, adminOf(UTILITY_A), 'POST', '/v1/vens', {
        homeId: 'home-fuzz-ven',
        bus: 'bus-1',
      });
      expect(issued.status, JSON.stringify(issued.body)).to.equal(201);
      ven = issued.body;
      venToken = ok<{ access_token: string }>(
        await venOp(description, '3.1.0', ven, 'token'),
        'token',
      ).access_token;
      const bl = await dsoRequest<{ access_token: string }>(
        description,
        'POST',
        '/openadr/3.1.0/auth/token',
        {
          body: 'grant_type=client_credentials',
        },
      );
      expect(bl.status, JSON.stringify(bl.body)).to.equal(200);
      blToken = bl.body.access_token;
    });

    const vtnRuns: readonly {
      readonly as: string;
      readonly caller?: Caller;
      readonly token: () => string;
    }[] = [
      { as: 'a VEN (bearer token)', token: () => venToken },
      { as: 'business logic (DSO certificate and bound token)', caller: DSO_OPERATOR, token: () => blToken },
    ];
    for (const run of vtnRuns) {
      it(`as ${run.as}: no 5xx, every answer documented and in its schema, 405 with Allow, no hang`, async function () {
        this.timeout(900_000);
        const result = await runSchemathesis(st, {
          label: `${UTILITY_A} VTN as ${run.as}`,
          baseUrl: vtnOrigin(),
          openapiUrl: `${vtnOrigin()}/openadr/openapi.json`,
          ...(run.caller === undefined ? {} : filesOf(description, run.caller)),
          caFile: gatewayCaFile(description),
          headers: { authorization: `Bearer ${run.token()}` },
          maxExamples: MAX_EXAMPLES,
          requestTimeoutSeconds: 30,
          maxTimeSeconds: FUZZ_SECONDS,
        });
        results.push(result);
        console.log(
          `      ${result.label}: ${result.operations} operations, ${result.generated} cases, ${result.seconds.toFixed(0)} s`,
        );
        expect(result.operations, explain(result)).to.be.greaterThan(10);
        expect(result.failures, explain(result)).to.deep.equal([]);
        expect(result.exitCode, explain(result)).to.equal(0);
      });
    }
  });

  for (const { gateway, caller } of RUNS) {
    it(`${gateway} as ${caller.name}: no 5xx, every answer documented and in its schema, 405 with Allow, no hang`, async function () {
      this.timeout(900_000);
      const result = await runSchemathesis(st, {
        label: `${gateway} as ${caller.mspId}/${caller.name}`,
        baseUrl: gatewayUrl(gateway),
        ...filesOf(description, caller),
        caFile: caFileOf(description, gateway),
        maxExamples: MAX_EXAMPLES,
        excludePathRegex: '^/v1/events$',
        requestTimeoutSeconds: 30,
        maxTimeSeconds: FUZZ_SECONDS,
      });
      results.push(result);
      console.log(
        `      ${result.label}: ${result.operations} operations, ${result.generated} cases, ${result.seconds.toFixed(0)} s`,
      );
      expect(result.operations, explain(result)).to.be.greaterThan(10);
      expect(result.failures, explain(result)).to.deep.equal([]);
      expect(result.exitCode, explain(result)).to.equal(0);
    });
  }
});
