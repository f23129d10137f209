import { createHash } from 'node:crypto';
import { decodeNonce, forecastLeaf, parseForecastPayload } from '@hems/protocol';
import { decodeJson } from '../ledger/answers';
import { timeslot } from '../ledger/contracts';
import type { Ledger } from '../ledger/ports';

/** 128 bits of SHA-256 in hex: what the chaincode's ListForecastNonces answers per item. */
const DIGEST_HEX = 32;

/** A forecast as the replay index identifies it: its nonce's digest and its stored value's leaf. */
export interface ForecastIdentity {
  readonly nonceDigest: string;
  readonly leaf: string;
}

/** The identity of a device-signed forecast payload for a device on `bus`; undefined if malformed. */
export function forecastIdentity(payload: string, bus: string): ForecastIdentity | undefined {
  try {
    const parsed = parseForecastPayload(Buffer.from(payload, 'utf8'), Number.MAX_SAFE_INTEGER);
    return {
      nonceDigest: createHash('sha256').update(decodeNonce(parsed.nonce)).digest('hex').slice(0, DIGEST_HEX),
      leaf: forecastLeaf({ ...parsed, bus })
        .toString('hex')
        .slice(0, DIGEST_HEX),
    };
  } catch {
    // The chaincode refuses it with the precise reason.
    return undefined;
  }
}

/** Where a forecast was stored. */
export interface StoredAt {
  readonly txId: string;
  readonly acceptedAt: string;
  readonly leaf: string;
}

/** What the index says of a forecast about to be batched. */
export type ReplayVerdict =
  | { readonly kind: 'fresh' }
  /** The same forecast is stored already: a device's retry, answered with the first receipt. */
  | { readonly kind: 'stored'; readonly at: StoredAt }
  /** The nonce is in a batch on its way: the first submission's answer is still to come. */
  | { readonly kind: 'pending' }
  /** The nonce signed another forecast: a replayed or reused nonce. */
  | { readonly kind: 'reused' };

interface SlotNonces {
  readonly stored: Map<string, StoredAt>;
  readonly pending: Set<string>;
}

/**
 * The nonces of a utility's forecasts per slot, as a relay needs them to refuse replays before
 * batching (the chaincode resolves them anyway, but only the relay can answer the device). Loaded
 * from the utility's own peer the first time a slot is used after a start, so a restart forgets
 * nothing; the most recent `maxSlots` slots are kept.
 */
export class ForecastReplayIndex {
  private readonly slots = new Map<string, Promise<SlotNonces>>();
  /** The slots whose nonces finished loading (a slot forgotten here is loaded again). */
  private readonly loaded = new Map<string, SlotNonces>();

  constructor(
    private readonly ledger: Ledger,
    private readonly maxSlots = 8,
  ) {}

  /**
   * What the index says of a forecast about to be batched, and, when it is fresh, its nonce
   * reserved — in one step once the slot's nonces are loaded, so concurrent submissions of one
   * nonce cannot both pass.
   */
  async claim(slotId: string, identity: ForecastIdentity): Promise<ReplayVerdict> {
    const nonces = await this.slot(slotId);
    const stored = nonces.stored.get(identity.nonceDigest);
    if (stored !== undefined) {
      return stored.leaf === identity.leaf ? { kind: 'stored', at: stored } : { kind: 'reused' };
    }
    if (nonces.pending.has(identity.nonceDigest)) {
      return { kind: 'pending' };
    }
    nonces.pending.add(identity.nonceDigest);
    return { kind: 'fresh' };
  }

  /** The batch's outcome for a claimed nonce: stored (accepted) or free again (refused or failed). */
  settle(slotId: string, identity: ForecastIdentity, at: StoredAt | undefined): void {
    const nonces = this.loaded.get(slotId);
    if (nonces === undefined) {
      return;
    }
    nonces.pending.delete(identity.nonceDigest);
    if (!this.slots.has(slotId)) {
      // Forgotten meanwhile: a later use loads the slot again, with this batch in it.
      if (nonces.pending.size === 0) {
        this.loaded.delete(slotId);
      }
      return;
    }
    if (at !== undefined) {
      nonces.stored.set(identity.nonceDigest, at);
    }
  }

  private slot(slotId: string): Promise<SlotNonces> {
    let loading = this.slots.get(slotId);
    if (loading === undefined) {
      loading = this.load(slotId);
      // A failed load is retried by the next request.
      loading.catch(() => this.slots.delete(slotId));
      this.slots.set(slotId, loading);
      while (this.slots.size > this.maxSlots) {
        this.slots.delete(this.slots.keys().next().value!);
      }
    } else {
      // Most recently used last.
      this.slots.delete(slotId);
      this.slots.set(slotId, loading);
    }
    return loading;
  }

  private async load(slotId: string): Promise<SlotNonces> {
    const listed = decodeJson<{
      batches?: { txId: string; at: string; items: [string, string][] }[];
    }>(
      await timeslot(this.ledger, 'relay').ListForecastNonces.evaluate({
        arguments: [slotId],
        endorsingOrganizations: [this.ledger.mspId],
      }),
    );
    const stored = new Map<string, StoredAt>();
    for (const batch of listed.batches ?? []) {
      for (const [nonceDigest, leaf] of batch.items) {
        // Batches come in the order they replace each other: the first use of a nonce counts.
        if (!stored.has(nonceDigest)) {
          stored.set(nonceDigest, { txId: batch.txId, acceptedAt: batch.at, leaf });
        }
      }
    }
    // Nonces of batches still on their way stay reserved if the slot was forgotten meanwhile.
    const nonces = { stored, pending: this.loaded.get(slotId)?.pending ?? new Set<string>() };
    this.loaded.set(slotId, nonces);
    return nonces;
  }
}
