import { peer } from '@hyperledger/fabric-protos';
import { HttpError } from '../http/errors';
import type { SubmitResult } from './ports';

/** The outcome of one endorse-submit-commit round of a transaction. */
export interface SubmitAttempt {
  readonly successful: boolean;
  /** peer.TxValidationCode of the commit. */
  readonly code: number;
  readonly transactionId: string;
  readonly result: Uint8Array;
  /** Endorsed only: not worth ordering. */
  readonly skipped?: true;
}

export interface MvccRetryOptions {
  readonly attempts?: number;
  readonly backoffMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const VALIDATION_CODES = Object.fromEntries(
  Object.entries(peer.TxValidationCode).map(([name, code]) => [code, name]),
) as Record<number, string>;

export function validationCodeName(code: number): string {
  return VALIDATION_CODES[code] ?? String(code);
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a transaction until it commits. A transaction that loses an MVCC race (a concurrent update
 * to a key it read, or a phantom in a range it read) is endorsed and submitted again with jittered
 * exponential backoff, as if it had come later; any other invalidation fails at once.
 */
export async function submitRetryingConflicts(
  attempt: () => Promise<SubmitAttempt>,
  options: MvccRetryOptions = {},
): Promise<SubmitResult> {
  const attempts = options.attempts ?? 4;
  const backoffMs = options.backoffMs ?? 200;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let round = 1; ; round += 1) {
    const outcome = await attempt();
    if (outcome.skipped === true) {
      return { result: outcome.result, transactionId: outcome.transactionId, skipped: true };
    }
    if (outcome.successful) {
      return { result: outcome.result, transactionId: outcome.transactionId };
    }
    const conflict =
      outcome.code === peer.TxValidationCode.MVCC_READ_CONFLICT ||
      outcome.code === peer.TxValidationCode.PHANTOM_READ_CONFLICT;
    if (conflict && round < attempts) {
      await sleep(backoffMs * 2 ** (round - 1) * (0.5 + random()));
      continue;
    }
    throw new HttpError(
      conflict ? 409 : 502,
      conflict ? 'CONFLICT' : 'COMMIT_FAILED',
      `transaction was not committed: ${validationCodeName(outcome.code)}${conflict ? ` after ${round} attempts (concurrent updates)` : ''}`,
      outcome.transactionId,
    );
  }
}
