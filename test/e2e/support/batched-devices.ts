/** Devices, requests and checks of the batched-forecast e2e suite (55-batched-forecasts). */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { request } from 'node:https';
import { expect } from 'chai';
import { HemsClient, type SlotReceipt } from '@hems/device-client';
import { evaluateJson, findIdentity, type NetworkDescription, readCredentials } from '@hems/network-client';
import { type ApiResponse, callGateway, gatewayCaPem, gatewayUrl } from '@hems/testkit';
import { Actors, UTILITY_A } from './actors';
import { AUDITOR, adminOf, sleep } from './gateways';
import { jsonAnswer } from './json-answer';

/** How long UtilityA's gateway holds a batch open for more forecasts, in this suite. */
export const BATCH_WAIT_MS = 1_000;
/** ... and in the restart tests: long enough to stop the gateway before its batch is sent. */
export const RESTART_BATCH_WAIT_MS = 3_000;
export const batchWait = (ms: number): Readonly<Record<string, string>> => ({
  HEMS_GATEWAY_BATCH_WAIT_MS: String(ms),
});

/** A device of UtilityA with its key, calling its gateway itself. */
export interface BatchDevice {
  readonly name: string;
  readonly homeId: string;
  readonly bus: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/** A forecast as a device signed it: the exact JSON text and its base64 DER signature. */
export interface Submission {
  readonly device: BatchDevice;
  readonly slotId: string;
  readonly lower: number;
  readonly upper: number;
  readonly nonce: string;
  readonly body: { readonly payload: string; readonly signature: string };
}

/** What GET /v1/slots/{id}/receipt answers a device: the device client's own type. */
export type Receipt = SlotReceipt;

export interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
  readonly transactionId?: string;
}

export interface Accepted {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
}

export function sampleDevice(description: NetworkDescription, name: string): BatchDevice {
  const identity = findIdentity(description, UTILITY_A, name);
  const credentials = readCredentials(identity);
  return {
    name,
    homeId: identity.attributes['hems.home'] ?? '',
    bus: identity.attributes['hems.bus'] ?? '',
    certificatePem: credentials.certificate.toString('utf8'),
    privateKeyPem: credentials.privateKeyPem.toString('utf8'),
  };
}

/** A new home's device on bus-1: registered by UtilityA's admin, enrolled with its own key. */
export async function enrolDevice(description: NetworkDescription, label: string): Promise<BatchDevice> {
  const homeId = `home-${label}-${randomBytes(3).toString('hex')}`;
  const registered = await callGateway<{ enrollmentId: string; secret: string }>(
    description,
    UTILITY_A,
    adminOf(UTILITY_A),
    'POST',
    '/v1/devices',
    { homeId, bus: 'bus-1' },
  );
  expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
  const credentials = await HemsClient.enroll({
    gatewayUrl: gatewayUrl(UTILITY_A),
    gatewayCaPem: gatewayCaPem(description, UTILITY_A),
    enrollmentId: registered.body.enrollmentId,
    secret: registered.body.secret,
  });
  return { name: registered.body.enrollmentId, homeId, bus: 'bus-1', ...credentials };
}

/** What the device signs: `{"slotId","lower","upper","nonce"}`, with a fresh nonce unless given. */
export function signFor(
  device: BatchDevice,
  slotId: string,
  lower: number,
  upper: number,
  nonce = randomBytes(16).toString('base64'),
): Submission {
  const payload = JSON.stringify({ slotId, lower, upper, nonce });
  const signature = sign('sha256', Buffer.from(payload, 'utf8'), createPrivateKey(device.privateKeyPem));
  return {
    device,
    slotId,
    lower,
    upper,
    nonce,
    body: { payload, signature: signature.toString('base64') },
  };
}

/** The forecast as the ledger stores it and the receipt reveals it. */
export function stored(submission: Submission): Receipt['forecast'] {
  return {
    slotId: submission.slotId,
    bus: submission.device.bus,
    lower: submission.lower,
    upper: submission.upper,
    nonce: submission.nonce,
  };
}

/**
 * A device's own request to UtilityA's gateway over mutual TLS, on a connection of its own (no
 * keep-alive socket survives a gateway restart).
 */
export function deviceCall<T>(
  description: NetworkDescription,
  device: BatchDevice,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<ApiResponse<T>> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${gatewayUrl(UTILITY_A)}${urlPath}`,
      {
        method,
        agent: false,
        ca: gatewayCaPem(description, UTILITY_A),
        cert: device.certificatePem,
        key: device.privateKeyPem,
        headers: {
          ...headers,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      jsonAnswer(resolve, reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function postForecast(
  description: NetworkDescription,
  submission: Submission,
  headers: Readonly<Record<string, string>> = {},
): Promise<ApiResponse<Accepted | ErrorBody>> {
  return deviceCall(
    description,
    submission.device,
    'POST',
    `/v1/slots/${submission.slotId}/forecast`,
    submission.body,
    headers,
  );
}

export async function receiptOf(
  description: NetworkDescription,
  device: BatchDevice,
  slotId: string,
): Promise<ApiResponse<Receipt | ErrorBody>> {
  return deviceCall(description, device, 'GET', `/v1/slots/${slotId}/receipt`);
}

export async function expectReceipt(
  description: NetworkDescription,
  device: BatchDevice,
  slotId: string,
): Promise<Receipt> {
  const response = await receiptOf(description, device, slotId);
  expect(response.status, `${device.name}'s receipt: ${JSON.stringify(response.body)}`).to.equal(200);
  return response.body as Receipt;
}

/** A 201 of the batched path: the body's transaction is the header's; answers the transaction id. */
export function expectAccepted(
  response: ApiResponse<Accepted | ErrorBody>,
  slotId: string,
  what: string,
): string {
  expect(response.status, `${what}: ${JSON.stringify(response.body)}`).to.equal(201);
  const txId = response.headers['x-transaction-id'];
  expect(txId, `${what}: x-transaction-id`)
    .to.be.a('string')
    .and.match(/^[0-9a-f]{64}$/);
  expect(response.body).to.include({ slotId, txId });
  return txId as string;
}

export function isReplay(response: ApiResponse<unknown>): boolean {
  return response.headers['idempotent-replay'] === 'true';
}

export function expectRefused(
  response: ApiResponse<Accepted | ErrorBody>,
  status: number,
  code: string,
  pattern: RegExp,
  what: string,
): ErrorBody {
  expect(response.status, `${what}: ${JSON.stringify(response.body)}`).to.equal(status);
  const body = response.body as ErrorBody;
  expect(body.code, what).to.equal(code);
  expect(body.message, what).to.match(pattern);
  expect(response.headers['x-transaction-id'], `${what}: no transaction header`).to.equal(undefined);
  return body;
}

/** Retries `probe` until it answers something other than undefined (a peer catching up). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined) {
      return answer;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(500);
  }
}

export interface TransactionInfo {
  readonly transactionId: string;
  readonly timestamp: string;
  readonly creatorMspId: string;
  readonly creatorRole: string | null;
  readonly endorsingOrganizations: string[];
  readonly validationCode: string;
  readonly function: string;
}

/** The auditor's view of a transaction, through the regulator's gateway (once its peer has it). */
export function auditTransaction(description: NetworkDescription, txId: string): Promise<TransactionInfo> {
  return eventually(`transaction ${txId} at the regulator's peer`, async () => {
    const response = await callGateway<TransactionInfo>(
      description,
      'RegulatorMSP',
      AUDITOR,
      'GET',
      `/v1/audit/transactions/${txId}`,
    );
    return response.status === 200 ? response.body : undefined;
  });
}

/** A batch transaction as any member sees it: valid, created by UtilityA's relay, endorsed by its peer. */
export async function expectBatchTransaction(
  description: NetworkDescription,
  txId: string,
): Promise<TransactionInfo> {
  const info = await auditTransaction(description, txId);
  expect(info).to.include({
    transactionId: txId,
    validationCode: 'VALID',
    creatorMspId: UTILITY_A,
    creatorRole: 'relay',
  });
  expect(info.function).to.match(/(^|:)SubmitForecasts$/);
  expect(info.endorsingOrganizations).to.deep.equal([UTILITY_A]);
  return info;
}

/** The regulator's auditor checks a home's revealed forecast against its batch's root. */
export async function prove(
  description: NetworkDescription,
  receipt: Receipt,
  forecast: Receipt['forecast'],
): Promise<boolean> {
  const response = await eventually(`a proof at the regulator's peer for ${receipt.batch}`, async () => {
    const answer = await callGateway<{ match: boolean }>(
      description,
      'RegulatorMSP',
      AUDITOR,
      'POST',
      '/v1/audit/proofs',
      {
        org: UTILITY_A,
        slotId: receipt.slotId,
        batch: receipt.batch,
        revealed: { forecast, index: receipt.index, count: receipt.count, path: receipt.path },
      },
    );
    // Until the regulator's peer has the batch's block, the batch is unknown there.
    return answer.status === 200 ? answer : undefined;
  });
  return response.body.match;
}

/** UtilityA's forecast batches of a slot, as its relay lists them on its own peer. */
export async function batchesOf(
  actors: Actors,
  slotId: string,
): Promise<{ batches: string[]; items: number }> {
  const { batches, items } = await evaluateJson<{ batches: string[]; items: number }>(
    actors.relay(UTILITY_A).contract(),
    'ListForecastBatches',
    [slotId],
  );
  return { batches, items };
}

/** Distinct kW values with three decimals, apart from the other suites' (from 7.137 kW). */
export function rangeFor(index: number): [number, number] {
  const lower = Math.round((7.137 + ((index * 0.613) % 3.7)) * 1000) / 1000;
  const upper = Math.round((lower + 1.3 + ((index * 1.271) % 4.9)) * 1000) / 1000;
  return [lower, upper];
}

// ---------------------------------------------------------------------------------------------
// Privacy: what a member outside UtilityA's collection can read of a batch transaction.

/** Every byte encoding of a text we can think of that could betray it in a block. */
