/*
 * `npm start`: after `npm run network:up`, a simulated day on the local Fabric network — REST
 * gateways per org, simulated HEMS devices with their own keys, the DSO opening every slot,
 * aggregating and dispatching — with a live table and an HTML report under reports/.
 *
 *   npm start                                   # 32 homes, 3 buses, 96 slots; the network keeps running
 *   npm start -- --homes 40 --slots 24 --speed max
 *   npm start -- --once                         # stop the network at the end
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeFabricError, loadNetworkDescription } from '@hems/network-client';
import { layoutFeeder } from './feeder-model';
import { tableHeader, tableRow, tableSummary } from './live-table';
import { OptionsError, parseDayOptions, USAGE, type DayOptions } from './options';
import { renderReport } from './report';
import { runDay } from './run-day';

function stopNetwork(): void {
  spawnSync('bash', [path.join(__dirname, '..', 'network', 'network.sh'), 'down'], { stdio: 'inherit' });
}

async function main(options: DayOptions): Promise<void> {
  const description = loadNetworkDescription();
  const feeder = layoutFeeder(options.homes, options.buses);
  console.log(
    `\nSimulated day: ${options.homes} homes on ${feeder.buses.map((bus) => `${bus.bus} (${bus.capacityKw} kW)`).join(', ')}; ` +
      `${options.slots} slots at ${options.speed === null ? 'full speed' : `${options.speed}× real time`}, seed ${options.seed}`,
  );
  let headerShown = false;
  const day = await runDay(options, description, {
    log: (line) => console.log(line),
    slotDone: (slot) => {
      if (!headerShown) {
        console.log(`\n${tableHeader(feeder.buses.map((bus) => bus.bus))}`);
        headerShown = true;
      }
      console.log(tableRow(slot));
    },
  });
  console.log(`\n${tableSummary(day)}`);
  mkdirSync(options.reportDir, { recursive: true });
  const file = path.join(options.reportDir, `day-${day.startedAt.replace(/[:.]/g, '-')}.html`);
  writeFileSync(file, renderReport(day));
  console.log(`report: ${file}`);
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
