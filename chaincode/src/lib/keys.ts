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
 * or enumerable data: forecast keys are built from an HMAC of the home id under a secret the
 * utility keeps in its own collection, and nonce keys from a random nonce.
 */
export const KeyType = {
  slot: 'hems.slot',
  aggregate: 'hems.aggregate',
  enrolment: 'hems.enrolment',
  orgCertificates: 'hems.orgca',
  revocations: 'hems.revocations',
  settings: 'hems.settings',
  settingsProposal: 'hems.settingsproposal',
  forecast: 'hems.forecast',
  forecastNonce: 'hems.nonce',
  consumption: 'hems.consumption',
  window: 'hems.window',
  windowOrg: 'hems.windoworg',
  availability: 'hems.availability',
  order: 'hems.order',
  orderNonce: 'hems.ordernonce',
  clearing: 'hems.clearing',
  reading: 'hems.reading',
  account: 'hems.account',
} as const;

/** Private key of the per-utility secret used to derive home references. Fixed name: one per collection. */
export const HOME_REF_SECRET_KEY = 'hems.homerefsecret';

export class Keys {
  constructor(private readonly stub: ChaincodeStub) {}

  slot(slotId: string): string {
    return this.stub.createCompositeKey(KeyType.slot, [slotId]);
  }

  aggregate(slotId: string, org: string, bus: string): string {
    return this.stub.createCompositeKey(KeyType.aggregate, [slotId, org, bus]);
  }

  enrolment(org: string, bus: string): string {
    return this.stub.createCompositeKey(KeyType.enrolment, [org, bus]);
  }

  orgCertificates(org: string): string {
    return this.stub.createCompositeKey(KeyType.orgCertificates, [org]);
  }

  revocations(org: string): string {
    return this.stub.createCompositeKey(KeyType.revocations, [org]);
  }

  settings(): string {
    return this.stub.createCompositeKey(KeyType.settings, ['current']);
  }

  settingsProposal(proposalId: string): string {
    return this.stub.createCompositeKey(KeyType.settingsProposal, [proposalId]);
  }

  forecast(slotId: string, homeRef: string): string {
    return this.stub.createCompositeKey(KeyType.forecast, [slotId, homeRef]);
  }

  forecastNonce(slotId: string, nonceDigest: string): string {
    return this.stub.createCompositeKey(KeyType.forecastNonce, [slotId, nonceDigest]);
  }

  /**
   * Private: one home's consumption report, under the same per-slot HMAC reference as its
   * forecast (so the key hash reveals nothing more than the forecast's did).
   */
  consumption(slotId: string, homeRef: string): string {
    return this.stub.createCompositeKey(KeyType.consumption, [slotId, homeRef]);
  }

  window(windowId: string): string {
    return this.stub.createCompositeKey(KeyType.window, [windowId]);
  }

  /**
   * One utility's part of a window: its revealed orders, escrow release, delivery totals, the
   * charges and payouts of its accounts and its settlement. Only that utility's peer endorses it.
   */
  windowOrg(windowId: string, org: string): string {
    return this.stub.createCompositeKey(KeyType.windowOrg, [windowId, org]);
  }

  /** Private: a prosumer's available energy, under an HMAC reference of window and home. */
  availability(windowId: string, availabilityRef: string): string {
    return this.stub.createCompositeKey(KeyType.availability, [windowId, availabilityRef]);
  }

  /** Private: a sealed order, under its per-window order reference. */
  order(windowId: string, orderRef: string): string {
    return this.stub.createCompositeKey(KeyType.order, [windowId, orderRef]);
  }

  orderNonce(windowId: string, nonceDigest: string): string {
    return this.stub.createCompositeKey(KeyType.orderNonce, [windowId, nonceDigest]);
  }

  clearing(windowId: string): string {
    return this.stub.createCompositeKey(KeyType.clearing, [windowId]);
  }

  /** Private: one meter reading of one trade side, under an HMAC reference. */
  reading(windowId: string, readingRef: string): string {
    return this.stub.createCompositeKey(KeyType.reading, [windowId, readingRef]);
  }

  /** A token account; a home account carries a key-level policy naming its utility's peer. */
  account(accountId: string): string {
    return this.stub.createCompositeKey(KeyType.account, [accountId]);
  }
}

/** The private data collection of a utility org; the network's collections config uses the same names. */
