/**
 * The steady load: a new slot every `slotSeconds` and a trading window every two slots, while the
 * run lasts. Per slot the DSO opens it, every home submits its forecast, the DSO has the
 * utilities publish their aggregates and dispatches λ, and every home reports what it drew. Per
 * window the market operator opens it, the meter head-ends post their prosumers' available
 * energy, every home places its order, and after the close (the utility gateways commit and
 * reveal on their own) the operator clears it and the gateways release the escrows. Every home's
 * submission goes through one pacer, so submissions start at a steady rate whatever the phase.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ORDER_COMMIT_LEAD_MS } from '@hems/protocol';
import type { SoakHome } from './homes';
import type { Operators } from './operators';
import type { Pacer } from './pacer';

/** Share of a slot's period before its forecast deadline. */
const DEADLINE_SHARE = 0.6;
/** How long after its deadline a slot's aggregation and dispatch may take. */
const AFTER_DEADLINE_MS = 90_000;
/** The utility gateways reveal 10 s after a window's close; the clearing waits a little longer. */
const REVEAL_AFTER_CLOSE_MS = 12_000;
/** Time between a window's close and its delivery: the reveals' time before revealBy. */
const REVEAL_TIME_MS = 30_000;
const DELIVERY_MS = 60_000;

export interface LoadSettings {
  readonly runId: string;
  readonly durationMs: number;
  readonly slotMs: number;
  readonly homes: readonly SoakHome[];
  readonly operators: Operators;
  readonly pacer: Pacer;
  readonly log: (line: string) => void;
}

export interface LoadOutcome {
  readonly slots: string[];
  readonly windows: string[];
  /** Windows whose escrows every utility released. */
  readonly released: string[];
  /** Operator steps that failed (a slot or window not completed), one line each. */
  readonly errors: string[];
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function playSlot(settings: LoadSettings, slotId: string, outcome: LoadOutcome): Promise<void> {
  const { operators, homes, pacer, slotMs } = settings;
  const openedAt = Date.now();
  const deadline = new Date(openedAt + Math.max(8_000, slotMs * DEADLINE_SHARE));
  try {
    await operators.openSlot(slotId, deadline, deadline.getTime() - 2_000);
    outcome.slots.push(slotId);
    const giveUp = deadline.getTime() - 500;
    await Promise.all(homes.map((home) => pacer.run(() => home.submitForecast(slotId, giveUp))));
    await operators.publishAggregates(slotId, deadline.getTime() + AFTER_DEADLINE_MS);
    await operators.dispatch(slotId, deadline.getTime() + AFTER_DEADLINE_MS);
    const reportsBy = Date.now() + Math.max(slotMs, 30_000);
    await Promise.all(homes.map((home) => pacer.run(() => home.reportConsumption(slotId, reportsBy))));
  } catch (error) {
    outcome.errors.push(`slot ${slotId}: ${message(error)}`);
    settings.log(`slot ${slotId}: ${message(error)}`);
  }
}

async function playWindow(settings: LoadSettings, windowId: string, outcome: LoadOutcome): Promise<void> {
  const { operators, homes, pacer, slotMs } = settings;
  const closesAt = new Date(Date.now() + Math.max(20_000, slotMs * 1.5));
  const deliveryStart = new Date(closesAt.getTime() + REVEAL_TIME_MS);
  const deliveryEnd = new Date(deliveryStart.getTime() + DELIVERY_MS);
  // Orders after the utility's commitment (ORDER_COMMIT_LEAD_MS before the close) are refused.
  const ordersBy = closesAt.getTime() - ORDER_COMMIT_LEAD_MS - 1_000;
  try {
    await operators.openWindow(windowId, { closesAt, deliveryStart, deliveryEnd }, ordersBy);
    outcome.windows.push(windowId);
    const utilities = [...new Set(homes.map((home) => home.mspId))];
    await Promise.all(
      utilities.map((mspId) =>
        operators.postAvailability(
          mspId,
          windowId,
          homes.filter((home) => home.mspId === mspId && home.side === 'offer').map((home) => home.homeId),
          ordersBy,
        ),
      ),
    );
    await Promise.all(homes.map((home) => pacer.run(() => home.submitOrder(windowId, ordersBy))));
    await delay(Math.max(0, closesAt.getTime() + REVEAL_AFTER_CLOSE_MS - Date.now()));
    await operators.clearWindow(windowId, deliveryStart.getTime() + AFTER_DEADLINE_MS);
    if (await operators.awaitRelease(windowId, Date.now() + AFTER_DEADLINE_MS)) {
      outcome.released.push(windowId);
    }
  } catch (error) {
    outcome.errors.push(`window ${windowId}: ${message(error)}`);
    settings.log(`window ${windowId}: ${message(error)}`);
  }
}

/**
 * Plays slots (and windows) for `durationMs` from `startedAt`, then waits until every slot and
 * window begun is done (each step has its own time limit).
 */
export async function runLoad(settings: LoadSettings, startedAt: number): Promise<LoadOutcome> {
  const outcome: LoadOutcome = { slots: [], windows: [], released: [], errors: [] };
  const running: Promise<void>[] = [];
  for (let index = 0; Date.now() - startedAt < settings.durationMs; index += 1) {
    const slotId = `soak-${settings.runId}-s${index}`;
    running.push(playSlot(settings, slotId, outcome));
    if (index % 2 === 0) {
      running.push(playWindow(settings, `soak-${settings.runId}-w${index / 2}`, outcome));
    }
    const next = startedAt + (index + 1) * settings.slotMs;
    while (Date.now() < next && Date.now() - startedAt < settings.durationMs) {
      await delay(Math.min(500, next - Date.now()));
    }
  }
  settings.log(`load: ${running.length} slots and windows begun; waiting for them to finish`);
  await Promise.all(running);
  return outcome;
}
