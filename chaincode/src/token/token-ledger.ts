import { failedPrecondition, parseStoredRecord, unitsFromStored } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { writeOwnedByOrg } from '../lib/ledger';
import { readState, writeState } from '../lib/state';

/**
 * The token ledger: public, pseudonymous accounts with a free balance and, inside the same record,
 * the escrows held for bids per window. Tokens enter only by deposit and move only as auction
 * entries; no amount may go below zero.
 *
 * Endorsement: a home account carries a key-level policy naming only its utility's peer, set when
 * a majority-endorsed Deposit creates it. The utility's single-peer transactions (orders, escrow
 * release, delivery charges, seller payments) then update it with that peer's endorsement alone,
 * which is why the escrows live in the account record rather than under keys of their own: a new
 * key written by one peer would fail the chaincode's majority policy. The grid account has no
 * key-level policy and is written only by majority-endorsed transactions.
 *
 * Fabric does not let a transaction read its own writes, and one transaction may touch an account
 * several times (refund an old escrow, then escrow a new bid). So a transaction changes accounts
 * through one `TokenBook`: it reads each record once, applies every entry in memory (refusing any
 * that would go negative, before anything is written) and writes each changed record once.
 */

export type EntryKind =
  | 'deposit'
  | 'escrow'
  | 'refund'
  | 'charge'
  | 'payment'
  /** Out of the DSO's demand-response pool into an event's allotments. */
  | 'allotment'
  /** A demand-response reward out of the utility's allotment of an event. */
  | 'reward'
  /** New tokens for a home's metered export in a slot (MintForProduction). */
  | 'mint';

/** Open escrows one account may hold: bounds the record every order transaction rewrites. */
export const MAX_OPEN_ESCROWS = 96;

export interface AccountEntry {
  readonly kind: EntryKind;
  /** Value units, > 0. */
  readonly amount: string;
  readonly windowId?: string;
  /** The demand-response event of an allotment or a reward. */
  readonly eventId?: string;
  /** The slot of a mint. */
  readonly slotId?: string;
}

export interface AccountRecord {
  readonly accountId: string;
  readonly mspId: string;
  /** Free tokens, value units. */
  readonly balance: string;
  /** Tokens held in escrow for bids, value units: the sum of `escrows`. */
  readonly escrowed: string;
  /** Open escrows by window id (value units, > 0); canonical JSON keeps them sorted. */
  readonly escrows: Readonly<Record<string, string>>;
  readonly updatedAt: string;
  readonly txId: string;
  /** The entries of the last transaction that changed the account. */
  readonly lastEntries: readonly AccountEntry[];
}

export function accountFromBytes(bytes: Uint8Array): AccountRecord {
  const record = parseStoredRecord<AccountRecord>(bytes, 'account', [
    'accountId',
    'mspId',
    'balance',
    'escrowed',
    'escrows',
  ]);
  unitsFromStored(record.balance, 'account balance');
  const escrowed = unitsFromStored(record.escrowed, 'account escrow');
  if (typeof record.escrows !== 'object' || record.escrows === null || Array.isArray(record.escrows)) {
    throw new Error('stored account escrows is not a JSON object');
  }
  let sum = 0n;
  for (const amount of Object.values(record.escrows)) {
    sum += unitsFromStored(amount, 'escrow amount');
  }
  if (sum !== escrowed) {
    throw new Error('stored account escrowed differs from the sum of its escrows');
  }
  return record;
}

/** A zero account, as an account that never received tokens reads. */
export function emptyAccount(accountId: string, mspId: string): AccountRecord {
  return {
    accountId,
    mspId,
    balance: '0',
    escrowed: '0',
    escrows: {},
    updatedAt: '',
    txId: '',
    lastEntries: [],
  };
}

export async function loadAccount(ctx: HemsContext, accountId: string): Promise<AccountRecord | undefined> {
  const bytes = await readState(ctx.stub, ctx.keys.account(accountId));
  return bytes === undefined ? undefined : accountFromBytes(bytes);
}

interface AccountState {
  readonly mspId: string;
  balance: bigint;
  readonly escrows: Map<string, bigint>;
  readonly entries: AccountEntry[];
  /** Set when this transaction creates the account; `policyOrg` gets a key-level policy. */
  readonly created?: { readonly policyOrg?: string };
}

export class TokenBook {
  private readonly accounts = new Map<string, AccountState | null>();

  constructor(private readonly ctx: HemsContext) {}

  /** The account as stored (read once per transaction), or undefined when it does not exist. */
  async load(accountId: string): Promise<{ mspId: string; balance: bigint } | undefined> {
    const state = await this.lookup(accountId);
    return state === undefined ? undefined : { mspId: state.mspId, balance: state.balance };
  }

  /**
   * Creates an account in this transaction. `policyOrg`: the org whose peer alone may endorse its
   * later changes (home accounts); none for the grid account.
   */
  async open(accountId: string, mspId: string, policyOrg?: string): Promise<void> {
    if ((await this.lookup(accountId)) !== undefined) {
      throw new Error(`account ${accountId} already exists`);
    }
    this.accounts.set(accountId, {
      mspId,
      balance: 0n,
      escrows: new Map(),
      entries: [],
      created: policyOrg === undefined ? {} : { policyOrg },
    });
  }

  /** The escrow of an account in a window, value units (0 when there is none). */
  async escrowOf(windowId: string, accountId: string, mspId: string): Promise<bigint> {
    return (await this.state(accountId, mspId)).escrows.get(windowId) ?? 0n;
  }

  async deposit(accountId: string, mspId: string, amount: bigint): Promise<void> {
    const state = await this.state(accountId, mspId);
    state.balance += amount;
    record(state, 'deposit', amount);
  }

  /** Moves `amount` from the free balance into the account's escrow for `windowId`. */
  async escrow(windowId: string, accountId: string, mspId: string, amount: bigint): Promise<void> {
    if (amount === 0n) {
      return;
    }
    const state = await this.state(accountId, mspId);
    if (state.balance < amount) {
      throw failedPrecondition('balance does not cover the escrow');
    }
    const current = state.escrows.get(windowId);
    if (current === undefined && state.escrows.size >= MAX_OPEN_ESCROWS) {
      throw failedPrecondition(
        `the account already holds ${MAX_OPEN_ESCROWS} open escrows: a bid in another window must wait until one is released`,
      );
    }
    state.balance -= amount;
    state.escrows.set(windowId, (current ?? 0n) + amount);
    record(state, 'escrow', amount, windowId);
  }

  /**
   * Releases `amount` of the account's escrow for `windowId`: back to its balance ('refund') or
   * out of the account ('charge', into the window's pool; the caller records the pool side).
   */
  async release(
    windowId: string,
    accountId: string,
    mspId: string,
    amount: bigint,
    kind: 'refund' | 'charge',
  ): Promise<void> {
    if (amount === 0n) {
      return;
    }
    const state = await this.state(accountId, mspId);
    const escrow = state.escrows.get(windowId) ?? 0n;
    if (escrow < amount) {
      throw new Error(`escrow of an account in window ${windowId} is smaller than the amount released`);
    }
    if (escrow === amount) {
      state.escrows.delete(windowId);
    } else {
      state.escrows.set(windowId, escrow - amount);
    }
    if (kind === 'refund') {
      state.balance += amount;
    }
    record(state, kind, amount, windowId);
  }

  /** Credits a payment out of a window's pool (the caller records the pool side). */
  async pay(windowId: string, accountId: string, mspId: string, amount: bigint): Promise<void> {
    if (amount === 0n) {
      return;
    }
    const state = await this.state(accountId, mspId);
    state.balance += amount;
    record(state, 'payment', amount, windowId);
  }

  /** Moves `amount` out of the DSO's pool into a demand-response event's allotments. */
  async allot(eventId: string, accountId: string, mspId: string, amount: bigint): Promise<void> {
    const state = await this.state(accountId, mspId);
    if (state.balance < amount) {
      throw failedPrecondition("the DSO's demand-response pool does not cover the event's budget");
    }
    state.balance -= amount;
    state.entries.push({ kind: 'allotment', amount: amount.toString(), eventId });
  }

  /** Credits a demand-response reward out of an event's allotment (the caller records that side). */
  async reward(eventId: string, accountId: string, mspId: string, amount: bigint): Promise<void> {
    if (amount === 0n) {
      return;
    }
    const state = await this.state(accountId, mspId);
    state.balance += amount;
    state.entries.push({ kind: 'reward', amount: amount.toString(), eventId });
  }

  /** Credits new tokens for a home's export in slot `slotId` (the caller records the minted total). */
  async mint(accountId: string, mspId: string, amount: bigint, slotId: string): Promise<void> {
    const state = await this.state(accountId, mspId);
    state.balance += amount;
    state.entries.push({ kind: 'mint', amount: amount.toString(), slotId });
  }

  /** Writes every changed or created account once. Call after all checks passed. */
  async flush(): Promise<void> {
    for (const [accountId, state] of [...this.accounts].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (state === null || (state.entries.length === 0 && state.created === undefined)) {
        continue;
      }
      const key = this.ctx.keys.account(accountId);
      const record = this.recordOf(accountId, state);
      const policyOrg = state.created?.policyOrg;
      await (policyOrg === undefined
        ? writeState(this.ctx.stub, key, record)
        : writeOwnedByOrg(this.ctx.stub, key, record, policyOrg));
    }
  }

  /** The account as it stands after this transaction's entries. */
  view(accountId: string): AccountRecord | undefined {
    const state = this.accounts.get(accountId);
    return state === undefined || state === null ? undefined : this.recordOf(accountId, state);
  }

  private recordOf(accountId: string, state: AccountState): AccountRecord {
    const escrows = [...state.escrows].sort(([a], [b]) => (a < b ? -1 : 1));
    return {
      accountId,
      mspId: state.mspId,
      balance: state.balance.toString(),
      escrowed: escrows.reduce((sum, [, amount]) => sum + amount, 0n).toString(),
      escrows: Object.fromEntries(escrows.map(([windowId, amount]) => [windowId, amount.toString()])),
      updatedAt: isoTime(this.ctx.now),
      txId: this.ctx.stub.getTxID(),
      lastEntries: state.entries,
    };
  }

  private async lookup(accountId: string): Promise<AccountState | undefined> {
    let state = this.accounts.get(accountId);
    if (state === undefined) {
      const stored = await loadAccount(this.ctx, accountId);
      state =
        stored === undefined
          ? null
          : {
              mspId: stored.mspId,
              balance: BigInt(stored.balance),
              escrows: new Map(Object.entries(stored.escrows).map(([id, amount]) => [id, BigInt(amount)])),
              entries: [],
            };
      this.accounts.set(accountId, state);
    }
    return state ?? undefined;
  }

  /**
   * An existing account of `mspId`. The contracts check existence and ownership with a precise
   * refusal first; reaching either error here is a bug, never a caller's mistake.
   */
  private async state(accountId: string, mspId: string): Promise<AccountState> {
    const state = await this.lookup(accountId);
    if (state === undefined) {
      throw new Error(`account ${accountId} does not exist`);
    }
    if (state.mspId !== mspId) {
      throw new Error(`account ${accountId} of ${state.mspId} cannot change in a transaction of ${mspId}`);
    }
    return state;
  }
}

function record(state: AccountState, kind: EntryKind, amount: bigint, windowId?: string): void {
  state.entries.push({ kind, amount: amount.toString(), ...(windowId === undefined ? {} : { windowId }) });
}
