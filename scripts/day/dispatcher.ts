/**
 * The DSO's side of a slot, entirely through the DSO's REST gateway as its operator: open the slot
 * with prices and its schedule, have the utilities publish their per-bus sums (the DSO gateway asks every utility
 * gateway; a utility aggregates only once all its enrolled homes on a bus submitted, or after the
 * deadline), then publish λ computed by the gateway's optimizer from the feeder's capacities.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { NetworkDescription } from '@hems/network-client';
import { callGateway, type ApiResponse } from '@hems/testkit';
import type { SlotSchedule, SlotView } from '@hems/protocol';
import { busAggregatesOf, planDispatch } from '@hems/gateway-api';
import type { SlotClosure } from './day-result';
import { meteringComplete, MeteringError, type HomeDraw } from './metering';
import type { SlotPrices } from './tariff';

const DSO = { mspId: 'DSOMSP', name: 'dso-operator' } as const;
const POLL_MS = 300;
/** Margin after a deadline so the dispatch's transaction time is surely past it. */
const DEADLINE_MARGIN_MS = 150;
/** How long the DSO waits for its peer to show the utilities' consumption summaries. */
const METERING_WAIT_MS = 30_000;
/** How long the DSO keeps retrying a dispatch its peer refuses as premature. */
const DISPATCH_RETRY_MS = 30_000;

export class DispatchError extends Error {
  override readonly name = 'DispatchError';
}

function failure(what: string, response: ApiResponse<unknown>): DispatchError {
  const body = response.body as { message?: string } | undefined;
  return new DispatchError(`${what} failed (${response.status}): ${body?.message ?? 'no message'}`);
}

export interface AggregationOutcome {
  readonly closedBy: SlotClosure;
  /** Buses of the slot outside the day's feeder (enrolled by other users of the network). */
  readonly otherBuses: readonly string[];
}

export class Dispatcher {
  constructor(
    private readonly description: NetworkDescription,
    private readonly capacities: Readonly<Record<string, number>>,
  ) {}

  private call<T>(method: string, urlPath: string, body?: unknown): Promise<ApiResponse<T>> {
    return callGateway<T>(this.description, DSO.mspId, DSO, method, urlPath, body);
  }

  private slotPath(slotId: string, suffix = ''): string {
    return `/v1/slots/${encodeURIComponent(slotId)}${suffix}`;
  }

  /** Opens a slot with its forecast deadline, its prices and its schedule (delivery interval, period). */
  async openSlot(slotId: string, deadline: Date, prices: SlotPrices, schedule?: SlotSchedule): Promise<void> {
    const response = await this.call('POST', '/v1/slots', {
      slotId,
      deadline: deadline.toISOString(),
      prices,
      ...(schedule === undefined ? {} : { schedule }),
    });
    if (response.status !== 201) {
      throw failure(`opening slot ${slotId}`, response);
    }
  }

  async readSlot(slotId: string): Promise<SlotView> {
    const response = await this.call<SlotView>('GET', this.slotPath(slotId));
    if (response.status !== 200) {
      throw failure(`reading slot ${slotId}`, response);
    }
    return response.body;
  }

  /**
   * Asks the utilities to publish until every aggregate of the slot is published ('all-submitted')
   * or the deadline has passed ('deadline'). Buses of other users, whose homes are not part of the
   * day, only close at the deadline.
   */
  async awaitAggregates(slotId: string, deadline: Date): Promise<AggregationOutcome> {
    const dayBuses = new Set(Object.keys(this.capacities));
    for (;;) {
      const slot = await this.readSlot(slotId);
      const otherBuses = [...new Set(slot.expected.map((e) => e.bus).filter((bus) => !dayBuses.has(bus)))];
      const pending = slot.aggregates.filter((aggregate) => !aggregate.published);
      if (pending.length === 0) {
        return { closedBy: 'all-submitted', otherBuses };
      }
      const remainingMs = deadline.getTime() + DEADLINE_MARGIN_MS - Date.now();
      if (remainingMs <= 0) {
        return { closedBy: 'deadline', otherBuses };
      }
      if (pending.every((aggregate) => !dayBuses.has(aggregate.bus))) {
        // Only other users' buses are left: nothing to ask for before the deadline.
        await delay(remainingMs);
        continue;
      }
      const response = await this.call('POST', this.slotPath(slotId, '/aggregates'));
      if (response.status !== 200) {
        throw failure(`aggregating slot ${slotId}`, response);
      }
      await delay(POLL_MS);
    }
  }

  /**
   * Publishes λ from the DSO gateway's optimizer and checks it against the same optimizer run here
   * on the published sums (the dispatch's answer carries them).
   */
  async dispatch(slotId: string): Promise<SlotView> {
    const giveUp = Date.now() + DISPATCH_RETRY_MS;
    for (;;) {
      const response = await this.call<SlotView & { plan?: { maxHomeKw?: number } }>(
        'POST',
        this.slotPath(slotId, '/dispatch'),
        { capacities: this.capacities },
      );
      if (response.status === 201) {
        const view = response.body;
        // A bus with withheld or missing sums is bounded by its homes' worst case (the channel's
        // per-home maximum, which the gateway's plan names).
        const maxHomeKw = view.plan?.maxHomeKw;
        const expected = planDispatch(
          busAggregatesOf(view),
          new Map(Object.entries(this.capacities)),
          maxHomeKw === undefined ? {} : { maxHomeKw },
        ).lambda;
        if (view.dispatch?.lambda !== expected) {
          throw new DispatchError(
            `slot ${slotId}: the ledger holds λ=${String(view.dispatch?.lambda)}, the optimizer gives ${expected}`,
          );
        }
        return view;
      }
      // 409: the DSO's peer has not seen the last aggregate yet. 502: the endorsing peers
      // disagreed, e.g. a utility's deadline scheduler published an aggregate that only some of
      // them had committed; the next proposal reads a settled state.
      if (![409, 502, 503].includes(response.status) || Date.now() > giveUp) {
        throw failure(`dispatching slot ${slotId}`, response);
      }
      await delay(POLL_MS);
    }
  }

  /**
   * After the slot's devices reported their draws: asks each utility gateway (as the DSO) to
   * publish its per-bus consumption summaries, then reads the slot from the ledger (the aggregates
   * read, not the gateway's slot cache) until the day's buses show every home that drew. Answers
   * the ledger's bus totals.
   */
  async publishConsumption(
    slotId: string,
    utilities: readonly string[],
    draws: readonly HomeDraw[],
  ): Promise<SlotView['busTotals']> {
    for (const mspId of utilities) {
      const response = await callGateway(
        this.description,
        mspId,
        DSO,
        'POST',
        this.slotPath(slotId, '/consumption-summaries'),
      );
      if (response.status !== 200) {
        throw failure(`publishing the consumption of ${mspId} in slot ${slotId}`, response);
      }
    }
    const buses = Object.keys(this.capacities);
    const giveUp = Date.now() + METERING_WAIT_MS;
    for (;;) {
      const response = await this.call<{ buses: SlotView['busTotals'] }>(
        'GET',
        this.slotPath(slotId, '/aggregates'),
      );
      if (response.status !== 200) {
        throw failure(`reading the metering of slot ${slotId}`, response);
      }
      if (meteringComplete(response.body.buses, buses, draws)) {
        return response.body.buses;
      }
      if (Date.now() > giveUp) {
        throw new MeteringError(
          `slot ${slotId}: the DSO's peer shows no complete metered consumption after ${METERING_WAIT_MS} ms`,
        );
      }
      await delay(POLL_MS);
    }
  }
}
