import { timingSafeEqual } from 'node:crypto';
import {
  canonicalBytes,
  collectionOf,
  MAX_PAYLOAD_BYTES,
  parseJsonArgument,
  parseRevealedForecast,
  invalidArgument,
  parseMspId,
} from '@hems/protocol';
import type { HemsContext } from '../lib/context';
import { sha256Hex } from '../lib/ledger';
import { requireTransientText } from '../lib/transient';

const NO_MATCH = 'the revealed forecast does not match the ledger';

/** The `org` argument of a proof: a utility organization of the channel. */
export async function parseUtilityOrg(ctx: HemsContext, org: string): Promise<string> {
  const utility = parseMspId(org, 'org');
  if (!(await ctx.settings()).utilityMspIds.includes(utility)) {
    throw invalidArgument(`${utility} is not a utility organization of this channel`);
  }
  return utility;
}

/**
 * P4 proof of submission: the forecast {slotId, bus, lower, upper, nonce} a home reveals in
 * transient field `revealed`, compared by its canonical SHA-256 with the hash Fabric keeps on every
 * peer for the home's private key. Works on peers outside the collection.
 */
export async function verifyForecastProof(
  ctx: HemsContext,
  utility: string,
  id: string,
  ref: string,
): Promise<{ slotId: string; org: string; match: boolean; reason?: string }> {
  const settings = await ctx.settings();
  const revealed = parseRevealedForecast(
    parseJsonArgument(
      requireTransientText(ctx, 'revealed', MAX_PAYLOAD_BYTES),
      'revealed',
      MAX_PAYLOAD_BYTES,
    ),
    settings.maxHomeKw,
  );
  if (revealed.slotId !== id) {
    throw invalidArgument('revealed.slotId does not match the slotId argument');
  }
  const onChain = Buffer.from(
    await ctx.stub.getPrivateDataHash(collectionOf(utility), ctx.keys.forecast(id, ref)),
  );
  // No hash gets the same answer as a mismatch: the check must not tell whether a reference exists.
  const computed = Buffer.from(sha256Hex(canonicalBytes(revealed)), 'hex');
  const match =
    onChain.length > 0 && computed.length === onChain.length && timingSafeEqual(computed, onChain);
  return match ? { slotId: id, org: utility, match } : { slotId: id, org: utility, match, reason: NO_MATCH };
}
