import { TRANSACTIONS, type ContractName, type TransactionOf } from '@hems/protocol';
import type { Ledger, LedgerContract, ServiceIdentity, SubmitResult, TransactionOptions } from './ports';

/** One chaincode transaction, evaluated on a peer or submitted for ordering. */
export interface Transaction {
  evaluate(options?: TransactionOptions): Promise<Uint8Array>;
  submit(options?: TransactionOptions): Promise<SubmitResult>;
}

/**
 * A chaincode contract as one service identity, one member per transaction of the protocol
 * (`timeslot(ledger, 'relay').GetHomeRef.evaluate(...)`): a renamed or mistyped transaction
 * fails to compile instead of failing on the peer.
 */
export type ContractFacade<C extends ContractName> = Readonly<Record<TransactionOf[C], Transaction>>;

export type TimeslotContract = ContractFacade<'timeslot'>;
export type GovernanceContract = ContractFacade<'governance'>;
export type AuctionContract = ContractFacade<'auction'>;
export type TokenContract = ContractFacade<'token'>;
export type DrContract = ContractFacade<'dr'>;

function facadeOf<C extends ContractName>(
  contract: LedgerContract,
  names: readonly string[],
): ContractFacade<C> {
  const transactions = names.map((name): [string, Transaction] => [
    name,
    {
      evaluate: (options) => contract.evaluate(name, options),
      submit: (options) => contract.submit(name, options),
    },
  ]);
  return Object.fromEntries(transactions) as ContractFacade<C>;
}

/** The timeslot contract (the chaincode's default one) as `identity`. */
export function timeslot(ledger: Ledger, identity: ServiceIdentity): TimeslotContract {
  return facadeOf(ledger.contract(identity), TRANSACTIONS.timeslot);
}

/** The governance contract as `identity`. */
export function governance(ledger: Ledger, identity: ServiceIdentity): GovernanceContract {
  return facadeOf(ledger.contract(identity, 'governance'), TRANSACTIONS.governance);
}

/** The auction contract as `identity`. */
export function auction(ledger: Ledger, identity: ServiceIdentity): AuctionContract {
  return facadeOf(ledger.contract(identity, 'auction'), TRANSACTIONS.auction);
}

/** The token contract as `identity`. */
export function token(ledger: Ledger, identity: ServiceIdentity): TokenContract {
  return facadeOf(ledger.contract(identity, 'token'), TRANSACTIONS.token);
}

/** The demand-response contract as `identity`. */
export function dr(ledger: Ledger, identity: ServiceIdentity): DrContract {
  return facadeOf(ledger.contract(identity, 'dr'), TRANSACTIONS.dr);
}
