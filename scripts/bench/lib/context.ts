import type { NetworkDescription } from '@hems/network-client';
import { FEEDER_BUSES, UTILITIES, enrolment, type Connections } from './fabric';
import type { BenchOptions } from './options';

/** What every on-chain benchmark gets from the runner. */
export interface BenchContext {
  readonly description: NetworkDescription;
  readonly options: BenchOptions;
  readonly connections: Connections;
}

/** Both utilities on both feeder buses: where ingestion and slot-cycle devices live. */
export const FEEDER_PAIRS: readonly { mspId: string; bus: string }[] = UTILITIES.flatMap((mspId) =>
  FEEDER_BUSES.map((bus) => ({ mspId, bus })),
);

/**
 * Feeder devices may submit only on buses their utility has enrolled homes on (the slot's
 * snapshot); fails early with the reason rather than with thousands of refusals.
 */
export async function requireFeederEnrolment(context: BenchContext): Promise<void> {
  const rows = await enrolment(context.connections.as('DSOMSP', 'dso-operator'));
  const missing = FEEDER_PAIRS.filter(
    (pair) => !rows.some((row) => row.org === pair.mspId && row.bus === pair.bus && row.homes > 0),
  );
  if (missing.length > 0) {
    throw new Error(
      `no enrolled homes on ${missing.map((pair) => `${pair.mspId}/${pair.bus}`).join(', ')}: run npm run network:up (its bootstrap enrols the sample feeder)`,
    );
  }
}
