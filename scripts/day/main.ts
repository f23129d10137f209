/*
 * `npm start`: after `npm run network:up`, a simulated day on the local Fabric network — REST
 * gateways per org, simulated HEMS devices with their own keys, the DSO opening every slot,
 * aggregating and dispatching, and an energy auction window every hour — with a live table and an
 * HTML report under reports/.
 *
 *   npm start                                   # 32 homes, 3 buses, 96 slots; the network keeps running
 *   npm start -- --homes 40 --slots 24 --speed max
 *   npm start -- --start 09:00 --slots 16 --auction-every 2
 *   npm start -- --once                         # stop the network at the end
 *   npm start -- --days 3                       # three days; a demand-response event on the last
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeFabricError, loadNetworkDescription } from '@hems/network-client';
import { layoutFeeder } from './feeder-model';
import { tableHeader, tableRow, tableSummary, windowRow } from './live-table';
import { OptionsError, parseDayOptions, USAGE, type DayOptions } from './options';
import { renderReport } from './report';
import { timeOfDay } from './appliance-model';
import { runDay } from './run-day';

function stopNetwork(): void {
  spawnSync('bash', [path.join(__dirname, '..', 'network', 'network.sh'), 'down'], { stdio: 'inherit' });
}

async function main(options: DayOptions): Promise<void> {
  const description = loadNetworkDescription();
  const feeder = layoutFeeder(options.homes, options.buses);
  console.log(
    `\nSimulated day: ${options.homes} homes on ${feeder.buses.map((bus) => `${bus.bus} (${bus.capacityKw} kW)`).join(', ')}; ` +
      `${options.slots} slots from ${timeOfDay(options.startSlot)} at ${options.speed === null ? 'full speed' : `${options.speed}× real time`}, seed ${options.seed}; ` +
      (options.auctionEvery === 0
        ? 'no energy auction'
        : `a trading window every ${options.auctionEvery} slots (delivery in the next slot)`) +
      (options.days > 1 ? `; ${options.days} days on consecutive simulated dates` : '') +
      (options.drEvent
        ? '; a demand-response event over the last day’s peak slots, with a grid emergency at 19:00'
        : ''),
  );
  let headerShown = false;
  const showHeader = (): void => {
    if (!headerShown) {
      console.log(`\n${tableHeader(feeder.buses.map((bus) => bus.bus))}`);
      headerShown = true;
    }
  };
  const day = await runDay(options, description, {
    log: (line) => console.log(line),
    slotDone: (slot) => {
      showHeader();
      console.log(tableRow(slot));
    },
    windowDone: (window) => {
      showHeader();
      console.log(windowRow(window));
    },
  });
  console.log(`\n${tableSummary(day)}`);
  mkdirSync(options.reportDir, { recursive: true });
  const file = path.join(options.reportDir, `day-${day.startedAt.replace(/[:.]/g, '-')}.html`);
  writeFileSync(file, renderReport(day));
  console.log(`report: ${file}`);
  const mismatched = day.windows.filter((window) => !window.auditMatches);
  if (mismatched.length > 0) {
    // The report is written either way; a clearing the auditor cannot reproduce is a failure.
    console.error(`the auditor's recomputed clearing differs in ${mismatched.length} windows`);
    process.exitCode = 1;
  }
  const audit = day.demandResponse?.audit;
  if (audit?.consistent === false) {
    console.error(
      `the auditor found the demand-response event's accounts inconsistent: ${audit.problems.join('; ')}`,
    );
    process.exitCode = 1;
  }
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
let options: DayOptions;
try {
  options = parseDayOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof OptionsError)) {
    throw error;
  }
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}

main(options).then(
  () => {
    if (options.once) {
      stopNetwork();
    } else {
      console.log(
        '\nThe network keeps running: npm run network:down stops it, npm run network:reset deletes it.',
      );
    }
  },
  (error: unknown) => {
    console.error('the simulated day failed:', describeFabricError(error));
    process.exitCode = 1;
    if (options.once) {
      stopNetwork();
    }
  },
);
