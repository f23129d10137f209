/**
 * What the routes need from the Fabric network, as small interfaces: the production
 * implementation (fabric-ledger.ts) goes through @hyperledger/fabric-gateway; route tests inject a
 * fake contract.
 */
import type { ContractName } from '@hems/protocol';

/** The Fabric identities a gateway instance holds for its organization. */
export type ServiceIdentity = 'relay' | 'dso' | 'market' | 'meter' | 'auditor' | 'admin';

/** The chaincode's contracts: timeslot (the default), governance, and the auction's auction and token. */
export type { ContractName };

export interface TransactionOptions {
  readonly arguments?: readonly string[];
  readonly transientData?: Readonly<Record<string, Uint8Array>>;
  /**
   * Orgs whose peers must endorse a submit, or one of whose peers evaluates (own-peer transactions:
   * only the gateway's own org; Deposit: its own org plus enough others for the majority).
   */
  readonly endorsingOrganizations?: readonly string[];
  /**
   * Submit only: asked with the endorsed result whether the transaction is worth ordering. A
   * transaction that would change nothing (every item of a batch refused) is not sent: Fabric would
   * invalidate a transaction without writes that only its creator's org endorsed anyway.
   */
  readonly submitIf?: (result: Uint8Array) => boolean;
}

export interface SubmitResult {
  readonly result: Uint8Array;
  readonly transactionId: string;
  /** Endorsed but not sent for ordering (submitIf declined it): nothing was committed. */
  readonly skipped?: true;
}

/** One chaincode contract as one service identity. */
export interface LedgerContract {
  evaluate(name: string, options?: TransactionOptions): Promise<Uint8Array>;
  submit(name: string, options?: TransactionOptions): Promise<SubmitResult>;
}

export interface TransactionInfo {
  readonly transactionId: string;
  readonly blockNumber: number;
  readonly timestamp: string;
  readonly creatorMspId: string;
  readonly creatorRole: string | null;
  readonly endorsingOrganizations: readonly string[];
  readonly validationCode: string;
  readonly function: string;
}

export interface BlockInfo {
  readonly number: number;
  readonly dataHash: string;
  readonly previousHash: string;
  readonly transactions: readonly TransactionInfo[];
}

export interface Ledger {
  /** MSP id of the organization this gateway serves. */
  readonly mspId: string;
  /**
   * The service identities this gateway holds (a utility: relay, meter and admin; the DSO: dso and
   * market; ...), the reader (the most specific one) first.
   */
  readonly identities: readonly ServiceIdentity[];
  contract(identity: ServiceIdentity, contractName?: ContractName): LedgerContract;
  /** Current block height of the gateway's peer. */
  blockHeight(): Promise<number>;
  block(number: number): Promise<BlockInfo>;
  transaction(transactionId: string): Promise<TransactionInfo>;
  close(): void;
}

/** One chaincode event as committed on the gateway's peer (only events of valid transactions). */
export interface LedgerChaincodeEvent {
  readonly eventName: string;
  readonly payload: Uint8Array;
  readonly blockNumber: bigint;
  readonly transactionId: string;
}

export interface ChaincodeEventsOptions {
  /** First block to read; without it, events start at the next committed block. */
  readonly startBlock?: bigint;
}

/** A live stream of chaincode events; close() ends it (a pending iteration then ends or throws). */
export type ChaincodeEventStream = AsyncIterable<LedgerChaincodeEvent> & { close(): void };

/** Where chaincode events come from: the Fabric ledger, or a fake in tests. */
export interface ChaincodeEventSource {
  chaincodeEvents(options: ChaincodeEventsOptions): ChaincodeEventStream;
}

/**
 * The Ledger port with chaincode events. Kept apart from Ledger (instead of a required member)
 * so that ledgers without events, such as route-test fakes, still satisfy Ledger.
 */
export type EventingLedger = Ledger & ChaincodeEventSource;

/** Whether a ledger can stream chaincode events. */
export function hasChaincodeEvents(ledger: Ledger): ledger is EventingLedger {
  return typeof (ledger as Partial<ChaincodeEventSource>).chaincodeEvents === 'function';
}
