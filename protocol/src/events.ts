/**
 * Public payloads of the chaincode events (their names: SLOT_EVENTS and WINDOW_EVENTS in
 * ./names.ts), as the gateways' event feeds and schedulers read them.
 */
import type { BusPriceRange, PriceRange } from './timeslot/prices';

/** SlotOpened's public payload. */
export interface SlotOpenedData {
  readonly slotId: string;
  readonly deadline: string;
  readonly prices: {
    readonly default?: PriceRange;
    readonly buses: readonly BusPriceRange[];
  };
  /** The (utility, bus) pairs expected to submit. */
  readonly buses: readonly { readonly org: string; readonly bus: string }[];
}

/** DispatchPublished's public payload. */
export interface DispatchPublishedData {
  readonly slotId: string;
  readonly lambda: number;
  readonly perBus: readonly { readonly bus: string; readonly lambda: number }[];
  readonly revision: number;
}

/** EmergencyDeclared's public payload: the slot and its level (1-3), nothing per home. */
export interface EmergencyDeclaredData {
  readonly slotId: string;
  readonly level: number;
}

/**
 * A window event's public payload as the chaincode emits it (WindowOpened: the window's spec;
 * OrdersRevealed: org and count; WindowCleared: price and totals; WindowSettled: org and whether
 * it was the last; GridShareClaimed: grid account and amount). Only windowId is relied on; the
 * rest is passed on as it is.
 */
export type WindowEventData = Readonly<Record<string, unknown>> & { readonly windowId: string };
