/**
 * Before the load: the soak's homes (bench devices with certificates issued from their utility's
 * CA, cached in the network's state folder), the enrolled-home counts that let each slot close as
 * soon as they all submitted, and a funded token account per home.
 */
import type { NetworkDescription } from '@hems/network-client';
import { FEEDER_PAIRS } from '../bench/lib/context';
import { spreadDevices } from '../bench/lib/devices';
import { Connections, enrolment, setEnrolledHomes, UTILITIES } from '../bench/lib/fabric';
import { SoakHome } from './homes';
import type { ItemLog } from './item-log';
import type { Operators } from './operators';

/** A bidder's balance is topped up to this (currency) when it holds less than half of it. */
const BIDDER_BALANCE = 20;
/** Value units (1e-10 currency) per currency. */
const UNITS = 10n ** 10n;
const SETUP_MS = 120_000;

export async function createHomes(
  description: NetworkDescription,
  count: number,
  log: ItemLog,
): Promise<SoakHome[]> {
  const devices = await spreadDevices(description, 'direct', FEEDER_PAIRS, count);
  return devices.map((device, index) => new SoakHome(description, device, index, log));
}

/**
 * The utility admins set the enrolled homes of each feeder bus to the soak's homes there, and 0
 * on their other buses: a slot expects every enrolled bus, and closes a bus early once all its
 * enrolled homes submitted (the soak takes the network over while it runs, as the bench does).
 */
export async function setSoakEnrolment(
  description: NetworkDescription,
  homes: readonly SoakHome[],
): Promise<void> {
  const connections = new Connections(description);
  try {
    const rows = await enrolment(connections.as('DSOMSP', 'dso-operator'));
    for (const mspId of UTILITIES) {
      const wanted = new Map<string, number>();
      for (const row of rows) {
        if (row.org === mspId && row.homes > 0) {
          wanted.set(row.bus, 0);
        }
      }
      for (const home of homes.filter((candidate) => candidate.mspId === mspId)) {
        wanted.set(home.bus, (wanted.get(home.bus) ?? 0) + 1);
      }
      const admin = connections.as(mspId, 'orgadmin');
      for (const [bus, count] of wanted) {
        const current = rows.find((row) => row.org === mspId && row.bus === bus)?.homes ?? 0;
        if (current !== count) {
          await setEnrolledHomes(admin, bus, count);
        }
      }
    }
  } finally {
    connections.close();
  }
}

/** Opens every home's account (kept from an earlier run) and funds the bidders. */
export async function fundAccounts(operators: Operators, homes: readonly SoakHome[]): Promise<void> {
  const giveUpAt = Date.now() + SETUP_MS;
  for (const home of homes) {
    await operators.openAccount(home.mspId, home.homeId, giveUpAt);
    if (home.side === 'bid') {
      const balance = BigInt((await home.account(giveUpAt)).balance);
      if (balance < (BigInt(BIDDER_BALANCE) * UNITS) / 2n) {
        const missing = Number((BigInt(BIDDER_BALANCE) * UNITS - balance + UNITS - 1n) / UNITS);
        await operators.fundAccount(home.mspId, home.homeId, missing, giveUpAt);
      }
    }
  }
}

/** Σ balance + escrowed over the homes' accounts, value units, as each device reads its own. */
export async function heldTokens(homes: readonly SoakHome[]): Promise<bigint> {
  const giveUpAt = Date.now() + SETUP_MS;
  let held = 0n;
  for (const home of homes) {
    const account = await home.account(giveUpAt);
    held += BigInt(account.balance) + BigInt(account.escrowed ?? '0');
  }
  return held;
}
