import type { ChaincodeStub } from 'fabric-shim-api';

/**
 * Every world-state key the contracts use, in one place.
 *
 * Public keys are composite keys (objectType + attributes). Their names are visible to every
 * channel member in read/write sets, so none of them carries a home id or a device certificate
 * serial read per submission (see revocations: one list key per org, not one key per device).
 *
 * Private keys live in the utility's collection. Fabric writes SHA-256(key) and SHA-256(value) of
 * every private write on the shared ledger, so a private key must never be derivable from public
 * or enumerable data about a home: consumption keys are built from an HMAC of the home id under a
 * secret the utility keeps in its own collection, nonce keys from a random nonce, and forecast
 * batches are keyed by their transaction id, never by a home.
 */
export const KeyType = {
  slot: 'hems.slot',
  aggregate: 'hems.aggregate',
  enrolment: 'hems.enrolment',
  orgCertificates: 'hems.orgca',
  revocations: 'hems.revocations',
  settings: 'hems.settings',
  settingsProposal: 'hems.settingsproposal',
  forecastBatch: 'hems.forecastbatch',
  forecastRoot: 'hems.forecastroot',
  forecastNonce: 'hems.nonce',
  consumption: 'hems.consumption',
  window: 'hems.window',
  windowOrg: 'hems.windoworg',
  windowCommitment: 'hems.windowcommit',
  availability: 'hems.availability',
  order: 'hems.order',
  orderNonce: 'hems.ordernonce',
  clearing: 'hems.clearing',
  reading: 'hems.reading',
  account: 'hems.account',
  issuance: 'hems.issuance',
  ven: 'hems.ven',
  drEvent: 'hems.drevent',
  drAllotment: 'hems.drallotment',
  meterHistory: 'hems.meterhistory',
  drResult: 'hems.drresult',
  drBatch: 'hems.drbatch',
  drDay: 'hems.drday',
  meterReading: 'hems.meterreading',
  production: 'hems.production',
  productionMint: 'hems.productionmint',
} as const;

/** Private key of the per-utility secret used to derive home references. Fixed name: one per collection. */
export const HOME_REF_SECRET_KEY = 'hems.homerefsecret';

export class Keys {
  constructor(private readonly stub: ChaincodeStub) {}

  readonly slot = this.keyOf<[slotId: string]>(KeyType.slot);

  readonly aggregate = this.keyOf<[slotId: string, org: string, bus: string]>(KeyType.aggregate);

  readonly enrolment = this.keyOf<[org: string, bus: string]>(KeyType.enrolment);

  readonly orgCertificates = this.keyOf<[org: string]>(KeyType.orgCertificates);

  readonly revocations = this.keyOf<[org: string]>(KeyType.revocations);

  readonly settingsProposal = this.keyOf<[proposalId: string]>(KeyType.settingsProposal);

  /**
   * Private: one relay transaction's accepted forecasts of a slot, under its transaction id. The
   * key is derivable from public data, and says only that this transaction stored a batch; the
   * value's hash is unguessable (every item holds a random nonce).
   */
  readonly forecastBatch = this.keyOf<[slotId: string, txId: string]>(KeyType.forecastBatch);

  /** Private: the Merkle root of a batch's items, whose on-chain hash anchors proofs (P4). */
  readonly forecastRoot = this.keyOf<[slotId: string, txId: string]>(KeyType.forecastRoot);

  readonly forecastNonce = this.keyOf<[slotId: string, nonceDigest: string]>(KeyType.forecastNonce);

  /**
   * Private: one home's consumption report, under the same per-slot HMAC reference as its
   * forecast (so the key hash reveals nothing more than the forecast's did).
   */
  readonly consumption = this.keyOf<[slotId: string, homeRef: string]>(KeyType.consumption);

  /**
   * Private: the meter head-end's reading of one home's energy in a slot, under the same per-slot
   * reference as its forecast and report.
   */
  readonly meterReading = this.keyOf<[slotId: string, homeRef: string]>(KeyType.meterReading);

  readonly window = this.keyOf<[windowId: string]>(KeyType.window);

  /**
   * One utility's part of a window: its revealed orders, escrow release, delivery totals, the
   * charges and payouts of its accounts and its settlement. Only that utility's peer endorses it.
   */
  readonly windowOrg = this.keyOf<[windowId: string, org: string]>(KeyType.windowOrg);

  /**
   * One utility's commitment to its sealed orders of a window (count and digest), written by a
   * majority-endorsed transaction before the close: no key-level policy.
   */
  readonly windowCommitment = this.keyOf<[windowId: string, org: string]>(KeyType.windowCommitment);

  /** Private: a prosumer's available energy, under an HMAC reference of window and home. */
  readonly availability = this.keyOf<[windowId: string, availabilityRef: string]>(KeyType.availability);

  /** Private: a sealed order, under its per-window order reference. */
  readonly order = this.keyOf<[windowId: string, orderRef: string]>(KeyType.order);

  readonly orderNonce = this.keyOf<[windowId: string, nonceDigest: string]>(KeyType.orderNonce);

  readonly clearing = this.keyOf<[windowId: string]>(KeyType.clearing);

  /** Private: one meter reading of one trade side, under an HMAC reference. */
  readonly reading = this.keyOf<[windowId: string, readingRef: string]>(KeyType.reading);

  /** A token account; a home account carries a key-level policy naming its utility's peer. */
  readonly account = this.keyOf<[accountId: string]>(KeyType.account);

  /**
   * One deposit's tokens issued by a utility, under the deposit's transaction id, majority-written:
   * a new key without a key-level policy, so one utility alone cannot add or change one. One key
   * per deposit, never read by a deposit, so deposits do not conflict.
   */
  readonly issuance = this.keyOf<[org: string, txId: string]>(KeyType.issuance);

  /**
   * Private: an OpenADR VEN's credentials in its utility's collection, under its random client id
   * (the key's on-chain hash cannot be tied to a home).
   */
  readonly ven = this.keyOf<[clientId: string]>(KeyType.ven);

  /** A demand-response event, majority-written by its declaration. */
  readonly drEvent = this.keyOf<[eventId: string]>(KeyType.drEvent);

  /**
   * One utility's allotment of an event's budget: created by the majority-endorsed declaration
   * with a key-level policy naming that utility's peer, which alone computes its homes' rewards.
   */
  readonly drAllotment = this.keyOf<[eventId: string, org: string]>(KeyType.drAllotment);

  /**
   * Private: one home's daily meter history, under an HMAC reference of the home that never
   * changes (so a day's write and a reward's read touch one key per home, not one per day).
   */
  readonly meterHistory = this.keyOf<[historyRef: string]>(KeyType.meterHistory);

  /** Private: one home's result in an event (baseline, metered, reward), under a per-event HMAC reference. */
  readonly drResult = this.keyOf<[eventId: string, resultRef: string]>(KeyType.drResult);

  /**
   * The events of one calendar day (UTC) and their intervals, majority-written by each declaration:
   * an overlapping event is refused, and a reward reads the days of its baseline's lookback by
   * point reads (no range query over all events ever declared).
   */
  readonly drDay = this.keyOf<[date: string]>(KeyType.drDay);

  /** Private: per-bus sums of one reward transaction, under its transaction id. */
  readonly drBatch = this.keyOf<[eventId: string, txId: string]>(KeyType.drBatch);

  /**
   * One utility's tokens minted for its homes' exports in a slot (sums only, never a home), created
   * by the majority-endorsed OpenSlot with a key-level policy naming that utility's peer, which
   * alone holds the exports. Keyed org first, so the reconciliation reads a utility's by range.
   */
  readonly production = this.keyOf<[org: string, slotId: string]>(KeyType.production);

  /**
   * Private: the marker that a home's production in a slot was minted, under the same per-slot
   * reference as its forecast (its key hash says no more than the forecast's did).
   */
  readonly productionMint = this.keyOf<[slotId: string, homeRef: string]>(KeyType.productionMint);

  /** The channel settings: one record. */
  settings(): string {
    return this.stub.createCompositeKey(KeyType.settings, ['current']);
  }

  /** The composite key of a record type from its attributes, in order. */
  private keyOf<A extends string[]>(objectType: string): (...attributes: A) => string {
    return (...attributes) => this.stub.createCompositeKey(objectType, attributes);
  }
}

/** The private data collection of a utility org; the network's collections config uses the same names. */
