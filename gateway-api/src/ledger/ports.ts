/**
 * What the routes need from the Fabric network, as small interfaces: the production
 * implementation (fabric-ledger.ts) goes through @hyperledger/fabric-gateway; route tests inject a
 * fake contract.
 */

/** The Fabric identities a gateway instance holds for its organization. */
export type ServiceIdentity = 'relay' | 'dso' | 'auditor' | 'admin';

export interface TransactionOptions {
  readonly arguments?: readonly string[];
  readonly transientData?: Readonly<Record<string, Uint8Array>>;
  /** Orgs whose peers must endorse (private data: only the collection's own org). */
  readonly endorsingOrganizations?: readonly string[];
}

export interface SubmitResult {
  readonly result: Uint8Array;
  readonly transactionId: string;
}

/** One chaincode contract (timeslot or governance) as one service identity. */
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
  /** The service identities this gateway holds (a utility: relay and admin; the DSO: dso; ...). */
  readonly identities: readonly ServiceIdentity[];
  contract(identity: ServiceIdentity, contractName?: 'timeslot' | 'governance'): LedgerContract;
  /** Current block height of the gateway's peer. */
  blockHeight(): Promise<number>;
  block(number: number): Promise<BlockInfo>;
  transaction(transactionId: string): Promise<TransactionInfo>;
  close(): void;
}
