/*
 * `npm start` at this stage: one real timeslot on the local Fabric network (which
 * `npm run network:up` has just started), played by the network's sample identities:
 * the DSO opens the slot with prices, every sample HEMS device computes and signs its forecast
 * range, its utility's relay submits it, each utility publishes its per-bus sums, the DSO computes
 * λ from its feeder model and publishes it, and each relay reads its homes' allowed power.
 *
 *   npm start              # the network keeps running afterwards
 *   npm start -- --once    # stop the network at the end
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import {
  connectAs,
  describeFabricError,
  devicesOf,
  evaluateJson,
  loadNetworkDescription,
  signForecast,
  submitJson,
  transientOf,
  type Device,
  type FabricConnection,
} from '@hems/network-client';
import type { SlotView } from '../gateway-api/src/routes/slot-view';
import { planDispatch } from '../gateway-api/src/services/dispatch-optimizer';

const UTILITIES = ['UtilityAMSP', 'UtilityBMSP'];
/** Feeder model: how much each bus can carry in this slot, kW. */
const CAPACITY_KW = new Map([
  ['bus-1', 30],
  ['bus-2', 9],
]);
const PRICES = { default: { lower: 42, upper: 96 }, buses: [{ bus: 'bus-2', lower: 55, upper: 130 }] };

/**
 * A small, seeded home model: an always-on base load, a flexible part (HVAC, water heater, EV)
 * that the home is willing to shift when prices are high. Lmin is what it must draw; Lmax what it
 * would like to draw.
 */
function forecast(device: Device, priceUpper: number): [number, number] {
  const seed = createHash('sha256').update(device.homeId).digest();
  const base = 0.3 + (seed[0] ?? 0) / 255;
  const flexible = 1 + ((seed[1] ?? 0) / 255) * 6 * (priceUpper > 100 ? 0.6 : 1);
  const round = (kw: number): number => Math.round(kw * 1000) / 1000;
  return [round(base), round(base + flexible)];
}

function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => String(row[column]).length))) ?? [];
  return rows
    .map((row) => row.map((cell, column) => String(cell).padEnd(widths[column] ?? 0)).join('  '))
    .join('\n');
}

async function main(): Promise<void> {
  const description = loadNetworkDescription();
  const dso = connectAs(description, { mspId: 'DSOMSP', identity: 'dso-operator' });
  const relays = new Map<string, FabricConnection>(
    UTILITIES.map((mspId) => [mspId, connectAs(description, { mspId, identity: 'relay' })]),
  );
  const relay = (mspId: string): FabricConnection => {
    const connection = relays.get(mspId);
    if (connection === undefined) {
      throw new Error(`no relay for ${mspId}`);
    }
    return connection;
  };
  try {
    const slotId = `demo-${new Date().toISOString().slice(0, 16).replace(/[-:]/g, '')}-${Date.now().toString(36).slice(-4)}`;
    const deadline = new Date(Date.now() + 120_000).toISOString();
    await submitJson(dso.contract(), 'OpenSlot', { args: [slotId, deadline, JSON.stringify(PRICES)] });
    console.log(`\nDSO opened slot ${slotId} (forecasts until ${deadline})`);

    const devices = UTILITIES.flatMap((mspId) => devicesOf(description, mspId));
    const ranges = new Map<Device, [number, number]>();
    const started = Date.now();
    await Promise.all(
      devices.map(async (device) => {
        const price = PRICES.buses.find((entry) => entry.bus === device.bus) ?? PRICES.default;
        const range = forecast(device, price.upper);
        ranges.set(device, range);
        await submitJson(relay(device.mspId).contract(), 'SubmitForecast', {
          args: [slotId],
          transientData: transientOf(signForecast(device, slotId, ...range)),
          endorsingOrganizations: [device.mspId],
        });
      }),
    );
    console.log(
      `${devices.length} HEMS devices submitted signed private forecasts in ${Date.now() - started} ms`,
    );

    for (const mspId of UTILITIES) {
      for (const bus of CAPACITY_KW.keys()) {
        // The utility lists its forecasts on its own peer, then publishes their sums.
        const contract = relay(mspId).contract();
        const { refs } = await evaluateJson<{ refs: string[] }>(contract, 'ListForecastRefs', [slotId, '']);
        await submitJson(contract, 'PublishAggregate', {
          args: [slotId, bus],
          transientData: { refs: Buffer.from(JSON.stringify(refs)) },
          endorsingOrganizations: [mspId],
        });
      }
    }
    const slot = await evaluateJson<SlotView>(dso.contract(), 'GetSlot', [slotId]);
    const plan = planDispatch(
      slot.busTotals.map((total) => ({
        ...total,
        complete: total.withheldOrgs.length === 0 && total.pendingOrgs.length === 0,
      })),
      CAPACITY_KW,
    );
    await submitJson(dso.contract(), 'PublishDispatch', { args: [slotId, String(plan.lambda), '', ''] });

    console.log('\nWhat the DSO sees (per-bus sums over both utilities):');
    console.log(
      table([
        [
          'bus',
          'homes',
          'ΣLmin kW',
          'ΣLmax kW',
          'capacity kW',
          'λ_b',
          'dispatched kW',
          'withheld (< k homes)',
        ],
        ...slot.busTotals.map((total) => {
          const bus = plan.buses.find((entry) => entry.bus === total.bus);
          return [
            total.bus,
            total.homes,
            total.withheldHomes,
            total.lower,
            total.upper,
            CAPACITY_KW.get(total.bus) ?? '-',
            bus?.lambda ?? '-',
            bus?.dispatchedKw ?? '-',
          ];
        }),
      ]),
    );
    console.log(`\nDSO published λ = ${plan.lambda} (minimum over buses)`);

    console.log('\nWhat each home learns from its own utility (nobody else sees these):');
    const rows: (string | number)[][] = [['device', 'utility', 'bus', 'Lmin', 'Lmax', 'allowed kW']];
    for (const device of devices) {
      const contract = relay(device.mspId).contract();
      const { homeRef } = await evaluateJson<{ homeRef: string }>(contract, 'GetHomeRef', [slotId], {
        certificate: Buffer.from(device.certificatePem),
      });
      const allowed = await evaluateJson<{ allowedKw: number }>(contract, 'GetAllowedPower', [
        slotId,
        homeRef,
      ]);
      const [lower, upper] = ranges.get(device) ?? [0, 0];
      rows.push([device.name, device.mspId, device.bus, lower, upper, allowed.allowedKw]);
    }
    console.log(table(rows));
    console.log(
      '\nPrivacy: individual ranges travelled only in transient data to the home’s own utility peer; the ledger' +
        '\nholds per-bus sums, salted hashes and relays as transaction creators. Buses with fewer than k homes' +
        '\nshow only their home count.',
    );
  } finally {
    dso.close();
    for (const connection of relays.values()) {
      connection.close();
    }
  }
}

main().then(
  () => {
    if (process.argv.includes('--once')) {
      spawnSync('bash', [path.join(__dirname, 'network', 'network.sh'), 'down'], { stdio: 'inherit' });
    } else {
      console.log(
        '\nThe network keeps running: npm run network:down stops it, npm run network:reset deletes it.',
      );
    }
  },
  (error: unknown) => {
    console.error('demo failed:', describeFabricError(error));
    process.exitCode = 1;
  },
);
