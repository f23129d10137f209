/**
 * One fault soak on a running network (its state folder in `description`): starts the four REST
 * gateways on the ports set with useGatewayPorts, sets up the homes, runs the steady load and the
 * fault schedule side by side, then verifies from the ledger and answers the report. Used by
 * `npm run soak` (./main.ts) and by the e2e suite with a short run.
 */
import type { NetworkDescription } from '@hems/network-client';
import { describeMachine } from '../bench/lib/report';
import { UTILITIES } from '../bench/lib/fabric';
import { faultSchedule } from './fault-schedule';
import { runFaults, type FaultRecord } from './fault-runner';
import { SoakGateways } from './gateways';
import type { SoakHome } from './homes';
import { ItemLog } from './item-log';
import { readLedger } from './ledger-reads';
import { runLoad, type LoadOutcome } from './load';
import { startNode } from './node-faults';
import { Operators } from './operators';
import type { SoakOptions } from './options';
import { Pacer } from './pacer';
import { verdict, type FaultFigures, type SoakReport } from './report';
import { createHomes, fundAccounts, heldTokens, setSoakEnrolment } from './setup';
import { faultWindows, longestGap, unavailabilityPerFault } from './unavailability';
import { verifyTokens, type Reconciliation } from './token-check';
import { verifyConsumption, verifyForecasts, verifyOrders } from './verify';

const RECONCILE_MS = 120_000;

export interface SoakObserver {
  readonly log?: (line: string) => void;
}

/** Brings back every process a fault left down (a restart that failed), best effort. */
async function restoreLeftovers(
  description: NetworkDescription,
  gateways: SoakGateways,
  faults: readonly FaultRecord[],
  log: (line: string) => void,
): Promise<void> {
  for (const fault of faults.filter((record) => record.restoredAt === null)) {
    try {
      if (fault.kind === 'gateway') {
        await gateways.restart(fault.target);
      } else {
        await startNode(description.stateDir, fault.target);
      }
      fault.restoredAt = Date.now();
      log(`restored ${fault.target} after the run`);
    } catch (error) {
      log(`could not restore ${fault.target}: ${String(error)} (npm run network:up starts what is stopped)`);
    }
  }
}

function faultFigures(records: readonly FaultRecord[], log: ItemLog, endAt: number): FaultFigures[] {
  const windows = faultWindows(
    records.map((record) => ({ number: record.number, startAt: record.startAt })),
    endAt,
  );
  const measured = unavailabilityPerFault(log.events, windows, UTILITIES);
  return records.map((record, index) => {
    const unavailability = measured[index];
    if (unavailability === undefined) {
      throw new Error('internal: a fault without its measurement');
    }
    return { ...record, ...unavailability };
  });
}

function verify(report: SoakReport, log: ItemLog, ledger: Awaited<ReturnType<typeof readLedger>>): void {
  const forecasts = verifyForecasts(log.ofKind('forecast'), ledger.batches, ledger.aggregates);
  report.kinds = [
    forecasts.figures,
    verifyConsumption(log.ofKind('consumption'), ledger.consumptionRefs, ledger.homeRefs),
    verifyOrders(log.ofKind('order'), ledger.orderCounts),
  ];
  const details = forecasts.aggregates;
  report.aggregates = {
    checked: details.length,
    published: details.filter((check) => check.published).length,
    mismatched: details.filter((check) => !check.matches).length,
    unpublished: details.filter((check) => !check.published).length,
    details,
  };
}

export async function runSoak(
  options: SoakOptions,
  description: NetworkDescription,
  observer: SoakObserver = {},
): Promise<SoakReport> {
  const log = observer.log ?? ((line: string) => console.log(line));
  const startedAt = new Date();
  const report: SoakReport = {
    startedAt: startedAt.toISOString(),
    machine: describeMachine(),
    options,
    stateDir: description.stateDir,
    homes: options.homes,
    slots: 0,
    windows: 0,
    windowsReleased: 0,
    kinds: [],
    aggregates: { checked: 0, published: 0, mismatched: 0, unpublished: 0, details: [] },
    tokens: null,
    baseline: null,
    faults: [],
    errors: [],
    passed: false,
  };
  const items = new ItemLog();
  const gateways = new SoakGateways(description);
  const operators = new Operators(description, log);
  let homes: SoakHome[] = [];
  let faults: FaultRecord[] = [];
  try {
    log(`soak: starting the REST gateways`);
    await gateways.startAll();
    homes = await createHomes(description, options.homes, items);
    await setSoakEnrolment(description, homes);
    await fundAccounts(operators, homes);
    const reconciledBefore: Reconciliation = await operators.reconciliation(Date.now() + RECONCILE_MS);
    const held = await heldTokens(homes);

    const durationMs = options.minutes * 60_000;
    const schedule = faultSchedule({
      durationMs,
      faultEveryMs: options.faultEverySeconds * 1000,
      downMs: options.downSeconds * 1000,
    });
    log(
      `soak: ${options.homes} homes for ${options.minutes} min at ${options.rate}/s, ${schedule.length} faults`,
    );
    const loadStart = Date.now();
    let loadDone = false;
    const faultRun = runFaults(
      schedule,
      loadStart,
      options.faultEverySeconds * 1000,
      { stateDir: description.stateDir, gateways, log },
      () => loadDone,
    );
    let load: LoadOutcome;
    try {
      load = await runLoad(
        {
          runId: Date.now().toString(36),
          durationMs,
          slotMs: options.slotSeconds * 1000,
          homes,
          operators,
          pacer: new Pacer(options.rate),
          log,
        },
        loadStart,
      );
    } finally {
      loadDone = true;
      faults = await faultRun;
    }
    // The steady load ends at the planned time; the slots and windows still finishing after it
    // thin out, so their quiet stretch would count as unavailability of the last fault.
    const loadEnd = Math.min(Date.now(), loadStart + durationMs);
    report.slots = load.slots.length;
    report.windows = load.windows.length;
    report.windowsReleased = load.released.length;
    report.errors.push(...load.errors);
    report.faults = faultFigures(faults, items, loadEnd);
    const firstFault = faults[0]?.startAt ?? loadEnd;
    report.baseline = Object.fromEntries(
      UTILITIES.map((org) => [
        org,
        longestGap(
          items.events.filter((e) => e.kind === 'commit' && e.mspId === org).map((e) => e.at),
          loadStart,
          firstFault,
        ),
      ]),
    );

    log('soak: verifying from the ledger');
    await restoreLeftovers(description, gateways, faults, log);
    const reconciledAfter = await operators.reconciliation(Date.now() + RECONCILE_MS);
    report.tokens = verifyTokens(reconciledBefore, reconciledAfter, held, await heldTokens(homes));
    verify(report, items, await readLedger(description, items.items));
  } catch (error) {
    report.errors.push(`the soak stopped: ${error instanceof Error ? error.message : String(error)}`);
    await restoreLeftovers(description, gateways, faults, log);
  } finally {
    for (const home of homes) {
      home.close();
    }
    await gateways.stopAll();
    report.finishedAt = new Date().toISOString();
  }
  report.passed =
    report.kinds.length > 0 &&
    verdict(report) &&
    !report.errors.some((e) => e.startsWith('the soak stopped'));
  return report;
}
