import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { refusal, type FakeLedger } from './fake-ledger';

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

/** None of the private values appears in `text` (an answer or the logs). */
export function expectNoneOf(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    expect(text, `"${secret}" leaked`).to.not.include(secret);
  }
}

/** A chaincode refusal and the HTTP status the gateway answers it with. */
export type RefusalCase = readonly [code: string, message: string, status: number];

/**
 * Each refusal of `transaction` by the chaincode comes back as its status with the chaincode's
 * code and message: exactly that answer, or (`including`) an answer that includes them.
 */
export async function expectRefusalsMapped(
  ledger: FakeLedger,
  transaction: string,
  cases: readonly RefusalCase[],
  send: () => Promise<LightMyRequestResponse>,
  match: 'exactly' | 'including' = 'exactly',
): Promise<void> {
  for (const [code, message, status] of cases) {
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
