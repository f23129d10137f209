import { HttpError } from '../../src/http/errors';
import type {
  BlockInfo,
  ContractName,
  Ledger,
  LedgerContract,
  ServiceIdentity,
  TransactionInfo,
  TransactionOptions,
} from '../../src/ledger/ports';

export interface LedgerCall {
  readonly identity: ServiceIdentity;
  readonly contract: string;
  readonly kind: 'evaluate' | 'submit';
  readonly name: string;
  readonly options: TransactionOptions;
}

type Handler = (options: TransactionOptions) => unknown;

/**
 * A fake contract behind the Ledger port: answers each transaction name with a canned JSON value
 * (or throws what the handler throws) and records every call, so tests can check what the
 * gateway sent — arguments, transient data, endorsing orgs, identity.
 */
export class FakeLedger implements Ledger {
  readonly calls: LedgerCall[] = [];
  /** Submits endorsed but not ordered (submitIf declined), by transaction name. */
  readonly skipped: string[] = [];
  private readonly handlers = new Map<string, Handler>();
  height = 42;
  blocks = new Map<number, BlockInfo>();
  transactions = new Map<string, TransactionInfo>();

  constructor(
    readonly mspId: string,
    readonly identities: readonly ServiceIdentity[],
  ) {}

  on(name: string, handler: unknown): this {
    this.handlers.set(name, typeof handler === 'function' ? (handler as Handler) : () => handler);
    return this;
  }

  /** Answers `name` with the chaincode's refusal `code: message`. */
  refuse(name: string, code: string, message: string): this {
    return this.on(name, () => {
      throw refusal(code, message);
    });
  }

  callsOf(name: string): LedgerCall[] {
    return this.calls.filter((call) => call.name === name);
  }

  contract(identity: ServiceIdentity, contractName: ContractName = 'timeslot'): LedgerContract {
    const run = async (
      kind: 'evaluate' | 'submit',
      name: string,
      options: TransactionOptions = {},
    ): Promise<Uint8Array> => {
      this.calls.push({ identity, contract: contractName, kind, name, options });
      const handler = this.handlers.get(name);
      if (handler === undefined) {
        throw new Error(`FakeLedger: no answer for ${name}`);
      }
      return Buffer.from(JSON.stringify(await handler(options)));
    };
    return {
      evaluate: (name, options) => run('evaluate', name, options),
      submit: async (name, options) => {
        const result = await run('submit', name, options);
        // Endorsed only, as the Fabric ledger does when submitIf declines: recorded as skipped.
        if (options?.submitIf?.(result) === false) {
          this.skipped.push(name);
          return { result, transactionId: 'f'.repeat(64), skipped: true };
        }
        return { result, transactionId: 'f'.repeat(64) };
      },
    };
  }

  blockHeight(): Promise<number> {
    return Promise.resolve(this.height);
  }

  block(number: number): Promise<BlockInfo> {
    const block = this.blocks.get(number);
    return block === undefined
      ? Promise.reject(new HttpError(404, 'NOT_FOUND', 'no such block'))
      : Promise.resolve(block);
  }

  transaction(transactionId: string): Promise<TransactionInfo> {
    const transaction = this.transactions.get(transactionId);
    return transaction === undefined
      ? Promise.reject(new HttpError(404, 'NOT_FOUND', `transaction ${transactionId} is not on the ledger`))
      : Promise.resolve(transaction);
  }

  close(): void {
    // nothing to close
  }
}

/** An error as fabric-gateway surfaces a chaincode refusal (the peer wraps the chaincode message). */
export function refusal(code: string, message: string): Error {
  return new Error(`10 ABORTED: failed to endorse transaction: chaincode response 500, ${code}: ${message}`);
}
