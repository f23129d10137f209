import { HttpError } from '../../http/errors';
import { decodeJson } from '../../ledger/answers';
import type { Ledger } from '../../ledger/ports';
import { publishPerOwnBus, type OwnPublication } from '../aggregates/service';

/**
 * After dispatch, for each bus of its aggregates: list the org's consumption reports on its own
 * peer and publish the bus's summary. Every bus is (re-)published, since more homes may have
 * reported; a re-publication the chaincode refuses (fewer than k new homes, not dispatched,
 * settled) is reported with the chaincode's reason, not failed.
 */
export function publishOwnConsumption(ledger: Ledger, slotId: string): Promise<OwnPublication> {
  return publishPerOwnBus(ledger, slotId, {
    list: 'ListConsumptionRefs',
    listed: 'refs',
    publish: 'PublishConsumption',
    done: () => undefined,
    refused: (message) => `not published: ${message}`,
    // PublishConsumption answers the whole aggregate record with its new consumption summary.
    published: (result) => {
      const summary = decodeJson<{ consumption?: { homes?: unknown; withheld?: unknown } }>(
        result,
      ).consumption;
      if (typeof summary?.homes !== 'number' || typeof summary.withheld !== 'boolean') {
        throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'PublishConsumption answered no consumption summary');
      }
      return { homes: summary.homes, withheld: summary.withheld };
    },
  });
}
