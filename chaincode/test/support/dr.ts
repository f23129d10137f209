import { DrContract } from '../../src/dr/dr-contract';
import { identities, type TestIdentity } from './fake-ledger';
import { AuctionScenario } from './auction';
import { MINUTE, UTILITY_A } from './scenario';

/** The event day of the tests: a Monday; its history runs over the 45 days before it. */
export const EVENT_DATE = '2026-11-23';
/** 17:00 and 17:15 UTC: the event's two slots, interval 68 and 69 of the day. */
export const EVENT_SLOTS = ['ev-1700', 'ev-1715'] as const;
export const EVENT_START = 68;

/** A day's readings: `base` Wh everywhere, `window` in the adjustment window (13:00-16:00), `peak` from 17:00 on. */
export function dayReadings(base: number, window: number, peak: number): number[] {
  return Array.from({ length: 96 }, (_, index) =>
    index >= EVENT_START ? peak : index >= 52 && index < 64 ? window : base,
  );
}

/** The `count` calendar days before EVENT_DATE, oldest first, YYYY-MM-DD. */
export function daysBefore(count: number): string[] {
  const event = Date.parse(`${EVENT_DATE}T00:00:00Z`);
  return Array.from({ length: count }, (_, index) =>
    new Date(event - (count - index) * 86_400_000).toISOString().slice(0, 10),
  );
}

export interface ItemReceipt {
  readonly txId: string;
  readonly accepted: number;
  readonly paid?: string;
  readonly refused: readonly { index: number; code: string; message: string }[];
}

/** The auction scenario plus the demand-response contract and its steps. */
export class DrScenario extends AuctionScenario {
  readonly dr = new DrContract();

  /** Opens a peak slot delivering 15 minutes from `start` (UTC, on EVENT_DATE unless a full time is given). */
  async openPeakSlot(slotId: string, start: string, period = 'peak'): Promise<void> {
    const at = Date.parse(start.includes('T') ? start : `${EVENT_DATE}T${start}:00Z`);
    await this.openSlot(slotId, {
      schedule: JSON.stringify({
        deliveryStart: new Date(at).toISOString(),
        deliveryEnd: new Date(at + 15 * MINUTE).toISOString(),
        period,
      }),
    });
  }

  async fundPool(amount: string, caller: TestIdentity = identities.dso()): Promise<Record<string, unknown>> {
    return this.ledger.invokeJson(caller, (ctx) => this.token.FundDrPool(ctx, amount));
  }

  async declare(
    eventId: string,
    terms: unknown,
    caller: TestIdentity = identities.dso(),
  ): Promise<Record<string, unknown>> {
    return this.ledger.invokeJson(caller, (ctx) => this.dr.DeclareEvent(ctx, eventId, JSON.stringify(terms)));
  }

  async recordDays(days: unknown, options: { who?: TestIdentity; peer?: string } = {}): Promise<ItemReceipt> {
    const who = options.who ?? identities.meter(UTILITY_A);
    return this.ledger.invokeJson(who, (ctx) => this.dr.RecordMeterDays(ctx), {
      peer: options.peer ?? who.mspId,
      transient: { days: JSON.stringify(days) },
    });
  }

  /** 45 days of history for `homeId` (every day `history`), and the event day (`today`). */
  async backfill(
    org: string,
    homeId: string,
    bus: string,
    history: number[],
    today: number[],
  ): Promise<void> {
    const days = [
      ...daysBefore(45).map((date) => ({ homeId, bus, date, intervalsWh: history })),
      { homeId, bus, date: EVENT_DATE, intervalsWh: today },
    ];
    for (let next = 0; next < days.length; next += 200) {
      const receipt = await this.recordDays(days.slice(next, next + 200), { who: identities.meter(org) });
      if (receipt.refused.length > 0) {
        throw new Error(`backfill refused: ${JSON.stringify(receipt.refused)}`);
      }
    }
  }

  async pay(
    eventId: string,
    homeIds: unknown,
    org = UTILITY_A,
    who = identities.admin(org),
  ): Promise<ItemReceipt> {
    return this.ledger.invokeJson(who, (ctx) => this.dr.PayRewards(ctx, eventId), {
      peer: org,
      transient: { homeIds: JSON.stringify(homeIds) },
    });
  }

  async publishTotals(eventId: string, org = UTILITY_A): Promise<Record<string, unknown>> {
    return this.ledger.invokeJson(identities.admin(org), (ctx) => this.dr.PublishRewardTotals(ctx, eventId), {
      peer: org,
    });
  }

  async event(
    eventId: string,
  ): Promise<{ event: Record<string, unknown>; allotments: Record<string, unknown>[] }> {
    return this.ledger.evaluateJson(identities.auditor(), (ctx) => this.dr.GetEvent(ctx, eventId));
  }

  async auditEvent(
    eventId: string,
  ): Promise<{ consistent: boolean; problems: string[]; utilities: Record<string, unknown>[] }> {
    return this.ledger.evaluateJson(identities.auditor(), (ctx) => this.dr.AuditEvent(ctx, eventId));
  }

  async reconcile(): Promise<Record<string, unknown> & { reconciled: boolean }> {
    return this.ledger.evaluateJson(identities.auditor(), (ctx) => this.token.ReconcileTokens(ctx));
  }
}
