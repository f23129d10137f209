import type { NetworkDescription } from '@hems/network-client';
import { FEEDER_BUSES, UTILITIES, enrolment, setEnrolledHomes, type Connections } from './fabric';
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

/** Homes the bootstrap enrols on each sample feeder bus, per utility. */
const SAMPLE_HOMES: Readonly<Record<string, number>> = { 'bus-1': 6, 'bus-2': 2 };

/**
 * Feeder devices may submit only on buses their utility has enrolled homes on (the slot's
 * snapshot), and every slot waits for every enrolled bus. The benchmark takes the network over
 * while it runs: the sample feeder buses get their bootstrap counts back if something (such as
 * `npm start`'s day) set them to 0, and every other bus of the utilities is set to 0 so no slot
 * waits for homes nobody plays.
 */
export async function requireFeederEnrolment(context: BenchContext): Promise<void> {
  const rows = await enrolment(context.connections.as('DSOMSP', 'dso-operator'));
  for (const mspId of UTILITIES) {
    const admin = context.connections.as(mspId, 'orgadmin');
    for (const bus of FEEDER_BUSES) {
      const wanted = SAMPLE_HOMES[bus] ?? 1;
      if (!rows.some((row) => row.org === mspId && row.bus === bus && row.homes > 0)) {
        await setEnrolledHomes(admin, bus, wanted);
      }
    }
    for (const row of rows) {
      if (row.org === mspId && !FEEDER_BUSES.includes(row.bus) && row.homes > 0) {
        await setEnrolledHomes(admin, row.bus, 0);
      }
    }
  }
}
