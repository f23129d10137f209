/**
 * The demand-response benchmark's transactions over the raw Fabric client: the meter head-end's
 * days, the DSO's slots, pool, events and dispatch, the utility admin's accounts and rewards —
 * each as the REST gateways submit it (gateway-api/src/resources/{meter,dr,accounts}).
 */
import type { Contract } from '@hyperledger/fabric-gateway';
import { chaincodeRefusal, evaluateJson, submitJson, type FabricConnection } from '@hems/network-client';
import type { SlotSchedule } from '@hems/protocol';
import { requireFeederEnrolment, type BenchContext } from './context';
import { majorityWithOwnOrg, type ChannelRoster } from './dr-batches';
import type { ItemReceipt } from './dr-results';
import { enrolment, openSlot, submitPhased, type PhasedSubmit } from './fabric';
import { errorMessage, runPool } from './runner';

const utf8 = new TextDecoder();
/** Events per dr:ListEvents page (its maximum). */
const EVENTS_PAGE = 100;

/** One day of one home as RecordMeterDays takes it in its transient `days`. */
export interface MeterDayItem {
  readonly homeId: string;
  readonly bus: string;
  readonly date: string;
  readonly intervalsWh: readonly number[];
}

/** The meter head-end, on its utility's own peer (the only one holding the homes' history). */
export function recordMeterDays(
  meter: Contract,
  org: string,
  days: readonly MeterDayItem[],
): Promise<ItemReceipt> {
  return submitJson<ItemReceipt>(meter, 'RecordMeterDays', {
    transientData: { days: Buffer.from(JSON.stringify(days)) },
    endorsingOrganizations: [org],
  });
}

/** The utility admin, on its own peer, step by step (endorsement, then ordering and commit). */
export function payRewards(
  rewards: Contract,
  org: string,
  eventId: string,
  homeIds: readonly string[],
): Promise<PhasedSubmit<ItemReceipt>> {
  return submitPhased<ItemReceipt>(rewards, 'PayRewards', {
    args: [eventId],
    transientData: { homeIds: Buffer.from(JSON.stringify(homeIds)) },
    endorsingOrganizations: [org],
  });
}

/** The channel's peer orgs by role (governance:GetSettings). */
export function channelRoster(connection: FabricConnection): Promise<ChannelRoster> {
  return evaluateJson<ChannelRoster>(connection.contract('governance'), 'GetSettings');
}

export interface EnrolledShare {
  readonly orgHomes: number;
  readonly totalHomes: number;
}

/**
 * `org`'s enrolled homes and those of every utility, by which DeclareEvent splits a budget. When
 * `org` has none (an event would allot it nothing), the sample feeder enrolment is restored as the
 * ingestion benchmark does (lib/context.ts).
 */
export async function enrolledShare(
  context: BenchContext,
  dso: FabricConnection,
  roster: ChannelRoster,
  org: string,
): Promise<EnrolledShare> {
  const read = async (): Promise<EnrolledShare> => {
    const rows = (await enrolment(dso)).filter((row) => roster.utilityMspIds.includes(row.org));
    return {
      orgHomes: rows.filter((row) => row.org === org).reduce((sum, row) => sum + row.homes, 0),
      totalHomes: rows.reduce((sum, row) => sum + row.homes, 0),
    };
  };
  const share = await read();
  if (share.orgHomes > 0) {
    return share;
  }
  console.log(`dr: ${org} has no enrolled homes; restoring the sample feeder enrolment`);
  await requireFeederEnrolment(context);
  const restored = await read();
  if (restored.orgHomes === 0) {
    throw new Error(`${org} has no enrolled homes, so an event would allot it nothing`);
  }
  return restored;
}

/** A peak slot to open: its id and delivery interval. */
export interface PeakSlot {
  readonly slotId: string;
  readonly deliveryStart: Date;
  readonly deliveryEnd: Date;
}

/** As the DSO: opens peak slots, forecast deadline `deadlineSeconds` ahead; answers the latest deadline. */
export async function openPeakSlots(
  dso: FabricConnection,
  slots: readonly PeakSlot[],
  deadlineSeconds: number,
): Promise<Date> {
  let deadline = new Date(0);
  for (const slot of slots) {
    const schedule: SlotSchedule = {
      deliveryStart: slot.deliveryStart.toISOString(),
      deliveryEnd: slot.deliveryEnd.toISOString(),
      period: 'peak',
    };
    const slotDeadline = await openSlot(dso, slot.slotId, deadlineSeconds / 60, schedule);
    deadline = slotDeadline > deadline ? slotDeadline : deadline;
  }
  return deadline;
}

/** As the DSO: mints `amount` (whole currency) into its demand-response pool. */
export async function fundPool(dso: FabricConnection, amount: string): Promise<void> {
  await submitJson(dso.contract('token'), 'FundDrPool', { args: [amount] });
}

/** An event to declare over its slots. */
export interface EventDeclaration {
  readonly eventId: string;
  readonly slotIds: readonly string[];
  readonly method: string;
  /** Currency per kWh. */
  readonly rate: number;
  /** Whole currency. */
  readonly budget: string;
}

/**
 * As the DSO: declares the event. Answers false when an event already declared on the day covers
 * some of its intervals (DeclareEvent refuses an overlap), so the caller can try other intervals.
 */
export async function declareEvent(dso: FabricConnection, declaration: EventDeclaration): Promise<boolean> {
  const { eventId, slotIds, method, rate, budget } = declaration;
  try {
    await submitJson(dso.contract('dr'), 'DeclareEvent', {
      args: [eventId, JSON.stringify({ slotIds, method, rate, budget })],
    });
    return true;
  } catch (error) {
    const refusal = chaincodeRefusal(error);
    if (refusal?.code === 'CONFLICT' && refusal.message.includes('already covers')) {
      return false;
    }
    throw error;
  }
}

/**
 * The intervals of the events already declared on `date` (UTC), from dr:ListEvents. Best effort:
 * when the listing fails (for instance on a record it cannot read), none are known and the
 * declarations find the overlaps themselves.
 */
export async function declaredWindows(
  connection: FabricConnection,
  date: string,
): Promise<{ start: number; end: number }[]> {
  const windows: { start: number; end: number }[] = [];
  const contract = connection.contract('dr');
  let bookmark = '';
  try {
    for (let page = 0; page < 10_000; page += 1) {
      const answer = await evaluateJson<{
        events: { date?: unknown; start?: unknown; end?: unknown }[];
        bookmark: string;
      }>(contract, 'ListEvents', [String(EVENTS_PAGE), bookmark]);
      for (const event of answer.events) {
        if (event.date === date && typeof event.start === 'number' && typeof event.end === 'number') {
          windows.push({ start: event.start, end: event.end });
        }
      }
      if (answer.bookmark === '' || answer.bookmark === bookmark || answer.events.length < EVENTS_PAGE) {
        break;
      }
      bookmark = answer.bookmark;
    }
  } catch (error) {
    console.log(`dr: listing the declared events failed (${errorMessage(error)}); going by refusals`);
  }
  return windows;
}

/**
 * As the utility admin, `concurrency` homes at a time: the home's account id (GetAccountId on the
 * utility's own peer, the home id in transient data), then Deposit "0", which opens the account,
 * endorsed by a majority with the utility's own peer among them. An existing account is kept.
 */
export async function openAccounts(
  admin: FabricConnection,
  org: string,
  roster: ChannelRoster,
  homeIds: readonly string[],
  concurrency: number,
): Promise<void> {
  const token = admin.contract('token');
  const endorsers = majorityWithOwnOrg(org, roster);
  const outcome = await runPool(homeIds, concurrency, async (homeId) => {
    const answer = JSON.parse(
      utf8.decode(
        await token.evaluate('GetAccountId', {
          transientData: { homeId: Buffer.from(homeId) },
          endorsingOrganizations: [org],
        }),
      ),
    ) as { accountId: string; exists: boolean };
    if (!answer.exists) {
      await submitJson(token, 'Deposit', {
        args: [answer.accountId, '0'],
        endorsingOrganizations: endorsers,
      });
    }
  });
  if (outcome.failures > 0) {
    throw new Error(
      `${outcome.failures} of ${homeIds.length} accounts could not be opened, first: ${outcome.firstError ?? ''}`,
    );
  }
}

/**
 * As the DSO, once `deadline` has passed: PublishDispatch of each slot with λ = 0.5. A slot that
 * something else dispatched meanwhile is fine.
 */
export async function dispatchAfter(
  dso: FabricConnection,
  slotIds: readonly string[],
  deadline: Date,
): Promise<void> {
  const wait = deadline.getTime() - Date.now() + 1000;
  if (wait > 0) {
    console.log(`dr: waiting ${Math.ceil(wait / 1000)} s for the slots' deadline ...`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const timeslot = dso.contract();
  for (const slotId of slotIds) {
    try {
      await submitJson(timeslot, 'PublishDispatch', { args: [slotId, '0.5', '', ''] });
    } catch (error) {
      const slot = await evaluateJson<{ dispatch?: unknown }>(timeslot, 'GetSlot', [slotId]);
      if (slot.dispatch === undefined) {
        throw error;
      }
    }
  }
}
