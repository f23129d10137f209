/** The OpenADR 3 VTN of UtilityA's gateway as the 75-openadr suite drives it. */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import {
  connectAs,
  evaluateJson,
  findIdentity,
  type NetworkDescription,
  readCredentials,
  submitJson,
} from '@hems/network-client';
import {
  type ApiResponse,
  gatewayUrl,
  isVenClientError,
  type OpenAdrVersion,
  runVenClient,
  type VenClientError,
} from '@hems/testkit';
import { UTILITY_A } from './actors';
import { jsonAnswer } from './json-answer';

/** The VTN's port: the gateway's own + 1000 (HEMS_GATEWAY_OPENADR_PORT unset). */
export function vtnOrigin(mspId = UTILITY_A): string {
  const url = new URL(gatewayUrl(mspId));
  return `https://localhost:${Number(url.port) + 1000}`;
}

export const baseUrl = (version: OpenAdrVersion, mspId = UTILITY_A): string =>
  `${vtnOrigin(mspId)}/openadr/${version}`;

/** The PEM file of the CA of the utility's gateway TLS certificate (the org's CA). */
export function gatewayCaFile(description: NetworkDescription, mspId = UTILITY_A): string {
  const ca = description.certificateAuthorities.find((candidate) => candidate.mspId === mspId);
  if (ca === undefined) {
    throw new Error(`no CA of ${mspId}`);
  }
  return ca.tlsCertPath;
}

/** A VEN's credentials, as POST /v1/vens answered them, with its home and bus. */
export interface Ven {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly venId: string;
  readonly venName: string;
  readonly enrollmentId: string;
  readonly homeId: string;
  readonly bus: string;
}

/** One driver operation for `ven` at UtilityA's VTN (token URL given, as 3.0.1 needs it). */
export function venOp(
  description: NetworkDescription,
  version: OpenAdrVersion,
  ven: Pick<Ven, 'clientId' | 'clientSecret'>,
  op: string,
  fields: Readonly<Record<string, unknown>> = {},
): Promise<unknown> {
  return runVenClient({
    version,
    op,
    baseUrl: baseUrl(version),
    tokenUrl: `${baseUrl(version)}/auth/token`,
    clientId: ven.clientId,
    clientSecret: ven.clientSecret,
    caFile: gatewayCaFile(description),
    ...fields,
  });
}

/** A driver result that must not be a refusal. */
export function ok<T>(result: unknown, what: string): T {
  expect(isVenClientError(result), `${what}: ${JSON.stringify(result)}`).to.equal(false);
  return result as T;
}

/** A driver result that must be a refusal with `status`. */
export function refused(result: unknown, status: number, what: string): VenClientError['error'] {
  expect(isVenClientError(result), `${what} should be refused: ${JSON.stringify(result)}`).to.equal(true);
  const { error } = result as VenClientError;
  expect(error.status, `${what}: ${JSON.stringify(error)}`).to.equal(status);
  return error;
}

/** An RFC 7807 problem in a refusal's body (raw_get) or message (the library's HTTPError). */
export function problemOf(error: VenClientError['error']): Record<string, unknown> {
  if (typeof error.body === 'object' && error.body !== null) {
    return error.body as Record<string, unknown>;
  }
  return JSON.parse(error.message) as Record<string, unknown>;
}

/** The id the VTN derives for a slot's object (gateway-api/src/openadr/object-ids.ts). */
export function derivedId(kind: 'price' | 'dispatch' | 'aggregate', slotId: string, subject: string): string {
  const escape = (text: string): string =>
    text.replace(/[_\-:.]/g, (c) => ({ _: '_u', '-': '_h', ':': '_c', '.': '_d' })[c] ?? c);
  return `${kind}-${escape(slotId)}-${escape(subject)}`;
}

export interface OadrEvent {
  readonly id: string;
  readonly programID: string;
  readonly intervals: { id: number; payloads: { type: string; values: unknown[] }[] }[];
  readonly [member: string]: unknown;
}

/** The values of the payload of `type` in an event's (or report's) first interval. */
export function payloadValues(
  object: { intervals: OadrEvent['intervals'] } | undefined,
  type: string,
): unknown[] | undefined {
  return object?.intervals[0]?.payloads.find((payload) => payload.type === type)?.values;
}

/**
 * Business logic's token by mutual TLS (RFC 8705): the DSO operator's certificate, no client
 * secret; then a GET with it. Plain HTTPS: the library has no client-certificate authentication.
 */
export function dsoRequest<T>(
  description: NetworkDescription,
  method: 'GET' | 'POST',
  urlPath: string,
  options: { body?: string; bearer?: string; clientCertificate?: boolean } = {},
): Promise<ApiResponse<T>> {
  const credentials = readCredentials(findIdentity(description, 'DSOMSP', 'dso-operator'));
  const payload = options.body === undefined ? undefined : Buffer.from(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${vtnOrigin()}${urlPath}`,
      {
        method,
        agent: false,
        ca: readFileSync(gatewayCaFile(description), 'utf8'),
        ...(options.clientCertificate === false
          ? {}
          : { cert: credentials.certificate, key: credentials.privateKeyPem }),
        headers: {
          accept: 'application/json',
          ...(options.bearer === undefined ? {} : { authorization: `Bearer ${options.bearer}` }),
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': payload.length }),
        },
      },
      jsonAnswer(resolve, reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * A token the VTN's key signed with claims of our choosing (an expired one), when the key file of
 * UtilityA's gateway is where the gateway keeps it by default; undefined otherwise.
 */
export function mintToken(
  description: NetworkDescription,
  claims: Record<string, unknown>,
): string | undefined {
  const file = path.join(description.stateDir, 'gateways', UTILITY_A, 'openadr-token.key');
  if (!existsSync(file)) {
    return undefined;
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

/** The claims of a VTN token (its first part). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** A notification a subscription's webhook received. */
export interface Notification {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: { objectType?: string; operation?: string; object?: OadrEvent };
}

/** A local http webhook (the gateways allow http: callbacks with HEMS_GATEWAY_OPENADR_HTTP_CALLBACKS=1). */
export class Webhook {
  readonly received: Notification[] = [];
  private server: Server | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let body: Notification['body'] = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification['body'];
        } catch {
          // kept empty: the test fails on it
        }
        this.received.push({ path: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  url(pathname: string): string {
    const { port } = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${port}${pathname}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Sets how many homes `mspId` enrols on `bus` (a slot expects the bus's aggregate only then) and
 * answers how to put back what was there: an earlier suite (the simulated day) may have set the
 * bootstrap's buses to 0 homes.
 */
export async function enrolHomes(
  description: NetworkDescription,
  mspId: string,
  bus: string,
  homes: number,
): Promise<() => Promise<void>> {
  const admin = connectAs(description, { mspId, identity: 'orgadmin' });
  try {
    const governance = admin.contract('governance');
    const { enrolment } = await evaluateJson<{ enrolment: { org: string; bus: string; homes: number }[] }>(
      governance,
      'GetEnrolment',
    );
    const before = enrolment.find((entry) => entry.org === mspId && entry.bus === bus)?.homes ?? 0;
    await submitJson(governance, 'SetEnrolledHomes', { args: [bus, String(homes)] });
    return async () => {
      const again = connectAs(description, { mspId, identity: 'orgadmin' });
      try {
        await submitJson(again.contract('governance'), 'SetEnrolledHomes', { args: [bus, String(before)] });
      } finally {
        again.close();
      }
    };
  } finally {
    admin.close();
  }
}
