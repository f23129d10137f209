import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { refusal, type FakeLedger, type LedgerCall } from './fake-ledger';

/** An error answer: its status, refusal code and, when given, a message matching `message`. */
export function expectError(
  response: LightMyRequestResponse,
  status: number,
  code: string,
  message?: RegExp,
): void {
  expect(response.statusCode, response.body).to.equal(status);
  const body = response.json<{ code: string; message: string }>();
  expect(body.code).to.equal(code);
  if (message !== undefined) {
    expect(body.message).to.match(message);
  }
}

/**
 * None of the private values appears in `text` (an answer or the logs), each as a whole token: a
 * secret 2.987 inside a log line's response time 12.9871 is not that value.
 */
export function expectNoneOf(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(text, `"${secret}" leaked`).to.not.match(new RegExp(`(?<![\\d.])${escaped}(?![\\d])`));
  }
}

/** A chaincode refusal and the HTTP status the gateway answers it with. */
export type RefusalCase = readonly [code: string, message: string, status: number];

/** The status the gateway answers each chaincode refusal code with. */
const REFUSAL_STATUS: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 422,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FAILED_PRECONDITION: 409,
};

/** A chaincode refusal as its text reads, `CODE: message`, with the status the gateway answers it with. */
export function refusalCase(text: string): RefusalCase {
  const separator = text.indexOf(': ');
  const code = text.slice(0, Math.max(separator, 0));
  const status = REFUSAL_STATUS[code];
  if (status === undefined) {
    throw new Error(`not a chaincode refusal: ${text}`);
  }
  return [code, text.slice(separator + 2), status];
}

/**
 * Each refusal of `transaction` by the chaincode, as its text reads (`CODE: message`), comes back
 * as the status the gateway answers that code with, with the chaincode's code and message:
 * exactly that answer, or (`including`) an answer that includes them.
 */
export async function expectRefusalsMapped(
  ledger: FakeLedger,
  transaction: string,
  send: () => Promise<LightMyRequestResponse>,
  refusals: readonly string[],
  match: 'exactly' | 'including' = 'exactly',
): Promise<void> {
  for (const [code, message, status] of refusals.map(refusalCase)) {
    ledger.on(transaction, () => {
      throw refusal(code, message);
    });
    const response = await send();
    if (match === 'exactly') {
      expect(response.json()).to.deep.equal({ statusCode: status, code, message });
    } else {
      expect(response.statusCode, response.body).to.equal(status);
      expect(response.json()).to.include({ code, message });
    }
  }
}

/** How a recorded ledger call was made: the identity, contract and kind (evaluate or submit). */
export function calledAs(
  identity: string,
  contract: string,
  kind: 'evaluate' | 'submit',
): { identity: string; contract: string; kind: string } {
  return { identity, contract, kind };
}

/** A recorded ledger call's identity, contract, kind and transaction. */
export function ledgerCall(
  identity: string,
  contract: string,
  kind: 'evaluate' | 'submit',
  name: string,
): { identity: string; contract: string; kind: string; name: string } {
  return { ...calledAs(identity, contract, kind), name };
}

/** A bad request body and the validation message it is refused with. */
export type BadBody = readonly [body: unknown, message: RegExp];

/** What every device-signed body route refuses (`nonString`: a payload that is not text). */
export function signedBodyCases(nonString: unknown): BadBody[] {
  return [
    [{}, /must have required property 'payload'/],
    [{ payload: '{}' }, /must have required property 'signature'/],
    [{ payload: 'x'.repeat(1025), signature: 'AAAA' }, /must NOT have more than 1024 characters/],
    [{ payload: '{}', signature: 'not base64!' }, /must match pattern/],
    [{ payload: nonString, signature: 'AAAA' }, /must be string/],
  ];
}

/** Each bad body sent is answered 400 with its validation message; `also` checks each answer further. */
export async function expectBadBodies(
  cases: readonly BadBody[],
  send: (body: unknown) => Promise<LightMyRequestResponse>,
  also: (response: LightMyRequestResponse) => void = () => undefined,
): Promise<void> {
  for (const [body, message] of cases) {
    const response = await send(body);
    expect(response.statusCode, message.source).to.equal(400);
    expect(response.json<{ message: string }>().message).to.match(message);
    also(response);
  }
}

/** The error `promise` rejects with, checked to be a `type`; a promise that fulfils fails the test. */
export async function rejectionOf<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return error as E;
  }
  throw new Error('expected a rejection');
}

/** The attributes a HEMS device of `homeId` on `bus` is registered with at the Fabric CA (in its certificate). */
export function deviceAttributes(
  homeId: string,
  bus: string,
): { name: string; value: string; ecert: boolean }[] {
  return [
    { name: 'hems.role', value: 'hems', ecert: true },
    { name: 'hems.home', value: homeId, ecert: true },
    { name: 'hems.bus', value: bus, ecert: true },
  ];
}

/** The JSON a recorded ledger call sent in its transient data under `key`. */
export function transientJson(call: LedgerCall | undefined, key: string): unknown {
  const bytes = call?.options.transientData?.[key];
  expect(bytes, `transient ${key}`).to.not.equal(undefined);
  return JSON.parse(Buffer.from(bytes ?? []).toString('utf8'));
}

/**
 * Private values went to the peer in transient data only: none of them is in the call's
 * proposal arguments (which every endorser and the block keep).
 */
export function expectTransientOnly(call: LedgerCall | undefined, secrets: readonly string[]): void {
  expect(call, 'the ledger call').to.not.equal(undefined);
  expectNoneOf(JSON.stringify(call?.options.arguments ?? []), secrets);
}
