import type { FabricConnection } from './connection';
import { describeFabricError } from './errors';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the connection's peer can plan an endorsement that satisfies the chaincode's
 * channel-wide policy. Right after peers start, gossip has not yet told each peer which peers of
 * the other orgs run the chaincode, and every submit fails with "no combination of peers can be
 * derived". Endorsing a read-only proposal (never submitted) probes exactly that.
 */
export async function waitForEndorsers(connection: FabricConnection, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await connection.contract('governance').newProposal('GetSettings').endorse();
      return Date.now() - started;
    } catch (error) {
      const text = describeFabricError(error);
      const notYet =
        /no combination of peers|no peer combination|failed to collect enough transaction endorsements|UNAVAILABLE/i.test(
          text,
        );
      if (!notYet || Date.now() - started > timeoutMs) {
        throw error;
      }
      await sleep(1_000);
    }
  }
}
