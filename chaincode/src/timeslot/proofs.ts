import { timingSafeEqual } from 'node:crypto';
import {
  canonicalBytes,
  collectionOf,
  forecastLeaf,
  type ForecastBatchRoot,
  invalidArgument,
  MAX_PAYLOAD_BYTES,
  merklePath,
  parseJsonArgument,
  parseMspId,
  parseRevealedForecast,
  requireArray,
  requireFiniteNumber,
  requireObject,
  requireOnlyKeys,
  requireString,
  rootFromPath,
  type StoredForecast,
  storedForecastOf,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { sha256Hex } from '../lib/ledger';
import { requireTransientText } from '../lib/transient';
import { MAX_BATCH_ITEMS } from '../lib/signed-batch';
import { loadAllBatches } from './forecast-batches';
import { forecastOfHome } from './forecasts';
import { loadSlot } from './records';

const NO_MATCH = 'the revealed forecast does not match the ledger';
/** A path over at most MAX_BATCH_ITEMS leaves has at most 10 levels; a little room for growth. */
const MAX_PATH_LENGTH = 32;
const MAX_PROOF_BYTES = MAX_PAYLOAD_BYTES + MAX_PATH_LENGTH * 70 + 256;

/** The `org` argument of a proof: a utility organization of the channel. */
export async function parseUtilityOrg(ctx: HemsContext, org: string): Promise<string> {
  const utility = parseMspId(org, 'org');
  if (!(await ctx.settings()).utilityMspIds.includes(utility)) {
    throw invalidArgument(`${utility} is not a utility organization of this channel`);
  }
  return utility;
}

/** What a home needs to prove its forecast in effect: its batch, position and Merkle path. */
export interface ForecastProof {
  readonly slotId: string;
  readonly org: string;
  readonly homeRef: string;
  readonly batch: string;
  readonly index: number;
  readonly count: number;
  readonly path: readonly string[];
  readonly forecast: StoredForecast;
}

/**
 * The proof of submission of one home's forecast in effect, built on its utility's own peer for
 * the relay to hand to the device: the path holds only hashes of the other homes' items.
 */
export async function forecastProof(
  ctx: HemsContext,
  org: string,
  id: string,
  ref: string,
): Promise<ForecastProof> {
  // An unknown slot is NOT_FOUND as a slot, not as a home without forecast.
  await loadSlot(ctx, id);
  const effective = await forecastOfHome(ctx, org, id, ref);
  const batch = (await loadAllBatches(ctx, org, id)).find((record) => record.txId === effective.batch);
  const leaves = (batch?.items ?? []).map((item) => forecastLeaf(storedForecastOf(id, item)));
  return {
    slotId: id,
    org,
    homeRef: ref,
    batch: effective.batch,
    index: effective.index,
    count: leaves.length,
    path: merklePath(leaves, effective.index),
    forecast: storedForecastOf(id, effective.item),
  };
}

/** The revealed proof in transient field `revealed`: {forecast, index, count, path}. */
function parseRevealedProof(
  ctx: HemsContext,
  maxHomeKw: number,
): { forecast: StoredForecast; index: number; count: number; path: string[] } {
  const proof = requireObject(
    parseJsonArgument(requireTransientText(ctx, 'revealed', MAX_PROOF_BYTES), 'revealed', MAX_PROOF_BYTES),
    'revealed',
  );
  requireOnlyKeys(proof, 'revealed', ['forecast', 'index', 'count', 'path']);
  const count = requireFiniteNumber(proof.count, 'revealed.count', 1, MAX_BATCH_ITEMS);
  const index = requireFiniteNumber(proof.index, 'revealed.index', 0, count - 1);
  if (!Number.isInteger(count) || !Number.isInteger(index)) {
    throw invalidArgument('revealed.index and revealed.count must be integers');
  }
  const path = requireArray(proof.path, 'revealed.path', MAX_PATH_LENGTH).map((node, position) => {
    const text = requireString(node, `revealed.path[${position}]`);
    if (text !== '' && !/^[0-9a-f]{64}$/.test(text)) {
      throw invalidArgument(`revealed.path[${position}] must be a SHA-256 hash in hex, or empty`);
    }
    return text;
  });
  return { forecast: parseRevealedForecast(proof.forecast, maxHomeKw), index, count, path };
}

/**
 * P4 proof of submission: a home reveals its forecast {slotId, bus, lower, upper, nonce} with its
 * position and Merkle path in batch `batch` (transient `revealed`); the root they lead to, in the
 * batch's root record, is compared by its canonical SHA-256 with the hash Fabric keeps on every
 * peer for that private key. Works on peers outside the collection.
 */
export async function verifyForecastProof(
  ctx: HemsContext,
  utility: string,
  id: string,
  batch: string,
): Promise<{ slotId: string; org: string; match: boolean; reason?: string }> {
  const settings = await ctx.settings();
  const revealed = parseRevealedProof(ctx, settings.maxHomeKw);
  if (revealed.forecast.slotId !== id) {
    throw invalidArgument('revealed.forecast.slotId does not match the slotId argument');
  }
  const root = rootFromPath(forecastLeaf(revealed.forecast), revealed.index, revealed.count, revealed.path);
  const onChain = Buffer.from(
    await ctx.stub.getPrivateDataHash(collectionOf(utility), ctx.keys.forecastRoot(id, batch)),
  );
  const record: ForecastBatchRoot = { slotId: id, txId: batch, count: revealed.count, root };
  // No hash gets the same answer as a mismatch: the check must not tell whether a batch exists.
  const computed = Buffer.from(sha256Hex(canonicalBytes(record)), 'hex');
  const match =
    root !== '' &&
    onChain.length > 0 &&
    computed.length === onChain.length &&
    timingSafeEqual(computed, onChain);
  return match ? { slotId: id, org: utility, match } : { slotId: id, org: utility, match, reason: NO_MATCH };
}
