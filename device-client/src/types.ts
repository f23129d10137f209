/**
 * What the device client sends and receives: the gateway's answers as a device sees them, the
 * signed submissions it keeps to resend, its events and its options.
 */

export type { ForecastRange } from '@hems/protocol';

/** A price range per MWh. */
export interface PriceRange {
  readonly lower: number;
  readonly upper: number;
}

/** GET /v1/slots/:slotId as a device sees it: its own bus's prices and λ. */
export interface SlotInfo {
  readonly slotId: string;
  readonly status: string;
  readonly deadline: string;
  readonly bus: string;
  readonly prices: PriceRange | null;
  readonly lambda: number | null;
}

/** What each signed submission carries: the exact text signed, its signature, its idempotency key. */
export interface SignedSubmission {
  readonly payload: string;
  /** Base64 ECDSA-SHA256 DER signature over the payload's UTF-8 bytes. */
  readonly signature: string;
  readonly idempotencyKey: string;
}

/**
 * A forecast signed by the device, ready to send (and to resend unchanged: keep it, with its
 * idempotency key, to retry a submission after a restart). Holds the forecast values: never log it.
 */
export interface SignedForecast {
  readonly slotId: string;
  /** The exact JSON text signed: `{"slotId","lower","upper","nonce"}`. */
  readonly payload: string;
  /** Base64 ECDSA-SHA256 DER signature over the payload's UTF-8 bytes. */
  readonly signature: string;
  readonly idempotencyKey: string;
}

/**
 * A consumption report signed by the device, ready to send (and to resend unchanged). Holds the
 * drawn power: never log it.
 */
export interface SignedConsumption {
  readonly slotId: string;
  /** The exact JSON text signed: `{"slotId","drawnKw","nonce"}`. */
  readonly payload: string;
  readonly signature: string;
  readonly idempotencyKey: string;
}

/** The gateway's receipt for a consumption report. */
export interface ConsumptionReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly recordedAt: string;
  /** The gateway replayed the answer of an earlier attempt with the same Idempotency-Key. */
  readonly replayed: boolean;
}

/** The gateway's receipt for a forecast. */
export interface ForecastReceipt {
  readonly slotId: string;
  readonly txId: string;
  readonly acceptedAt: string;
  /** The gateway replayed the answer of an earlier attempt with the same Idempotency-Key. */
  readonly replayed: boolean;
}

/** GET /v1/slots/:slotId/receipt: what proves this home's forecast in effect to an auditor. */
export interface SlotReceipt {
  readonly slotId: string;
  readonly org: string;
  readonly bus: string;
  readonly homeRef: string;
  /** The batch (transaction id) holding the home's forecast in effect. */
  readonly batch: string;
  /** The forecast's position in its batch, the batch's size, and the Merkle path (hex hashes). */
  readonly index: number;
  readonly count: number;
  readonly path: readonly string[];
  /** The forecast in effect, as stored: what the home reveals to prove its submission. */
  readonly forecast: {
    readonly slotId: string;
    readonly bus: string;
    readonly lower: number;
    readonly upper: number;
    readonly nonce: string;
  };
}

export interface DispatchInfo {
  readonly slotId: string;
  readonly lambda: number;
  readonly allowedKw: number;
  readonly revision: number;
}

/** An order of the energy auction: sell (offer) or buy (bid) energy for a trading window. */
export type OrderSide = 'offer' | 'bid';

export interface OrderSpec {
  readonly side: OrderSide;
  /** kWh, > 0, at most 3 decimals. */
  readonly energyKwh: number;
  /** Currency per MWh, ≥ 0, at most 4 decimals: an offer's minimum or a bid's maximum price. */
  readonly limitPrice: number;
  /**
   * A bid's escrow in currency (≤ 4 decimals), at least energy × limitPrice. The escrow is the
   * only public trace of a bid before the close, so by default it is padded to a coarse bucket:
   * the bid's value rounded up to the next power of two in whole currency units, at least 1
   * (a bid worth 0.24 escrows 1, one worth 100 escrows 128), which tells only the bid's order of
   * magnitude. The account's balance must cover the padded amount; the excess is refunded at the
   * escrow release after the clearing. Give an explicit escrow (e.g. the exact value) to lock
   * less, at the cost of privacy. Offers escrow "0".
   */
  readonly escrow?: number | string;
}

/**
 * An order (or a cancellation) signed by the device, ready to send and to resend unchanged. Holds
 * the order's values until the window closes: never log it.
 */
export interface SignedOrder {
  readonly windowId: string;
  /** The exact canonical JSON text signed (keys sorted, no spaces). */
  readonly payload: string;
  /** Base64 ECDSA-SHA256 DER signature over the payload's UTF-8 bytes. */
  readonly signature: string;
  readonly idempotencyKey: string;
}

/** The gateway's receipt for an order or a cancellation: never the order's values. */
export interface OrderReceipt {
  readonly windowId: string;
  readonly txId: string;
  readonly acceptedAt?: string;
  readonly replaced?: boolean;
  readonly cancelled?: boolean;
  readonly escrow?: string;
  readonly refunded?: string;
  /** The gateway replayed the answer of an earlier attempt with the same Idempotency-Key. */
  readonly replayed: boolean;
}

/** GET /v1/windows/:windowId: the public window record (spec, status, clearing, totals). */
export type WindowInfo = Readonly<Record<string, unknown>> & {
  readonly windowId: string;
  readonly status: string;
};

/** GET /v1/accounts/me: this home's pseudonymous account; amounts in value units of 1e-10 currency. */
export type AccountInfo = Readonly<Record<string, unknown>> & {
  readonly accountId: string;
  readonly balance: string;
  readonly escrowed?: string;
  /** Escrow held per window id (only windows with an escrow > 0). */
  readonly escrows?: Readonly<Record<string, string>>;
};

export interface SlotOpenedEvent {
  readonly type: 'slot-opened';
  readonly id: string | undefined;
  readonly data: {
    readonly slotId: string;
    readonly deadline: string;
    readonly bus: string;
    readonly prices: PriceRange | null;
  };
}

export interface DispatchPublishedEvent {
  readonly type: 'dispatch-published';
  readonly id: string | undefined;
  readonly data: {
    readonly slotId: string;
    readonly bus: string;
    readonly lambda: number;
    readonly revision: number;
  };
}

/** Events were missed (the gateway no longer had them): re-read the slots of interest. */
export interface ResetEvent {
  readonly type: 'reset';
  readonly id: string | undefined;
  /** The event's JSON data, its text when not JSON, or null when empty. */
  readonly data: unknown;
}

/**
 * A public event of a trading window (opened, orders revealed, cleared, delivery reports closed,
 * settled, grid share claimed).
 */
export interface WindowEvent {
  readonly type:
    | 'window-opened'
    | 'orders-revealed'
    | 'window-cleared'
    | 'delivery-reports-closed'
    | 'window-settled'
    | 'grid-share-claimed';
  readonly id: string | undefined;
  readonly data: Readonly<Record<string, unknown>> & { readonly windowId: string };
}

export type HemsEvent = SlotOpenedEvent | DispatchPublishedEvent | WindowEvent | ResetEvent;

/** What followEvents reports besides events. */
export type FollowStatus =
  | { readonly state: 'connected'; readonly lastEventId: string | undefined }
  | { readonly state: 'reconnecting'; readonly delayMs: number; readonly error: Error }
  | { readonly state: 'skipped'; readonly eventType: string; readonly reason: string };

export interface FollowEventsOptions {
  /** Resume after this event id (sent as Last-Event-ID on the first connection). */
  readonly lastEventId?: string;
  /** Stops following: followEvents then resolves. */
  readonly signal?: AbortSignal;
  readonly onStatus?: (status: FollowStatus) => void;
}

export interface RetryOptions {
  /** Attempts in all, first included; default 5. */
  readonly attempts?: number;
  /** Delay before the first retry, doubling up to maxDelayMs (with jitter); default 500 ms. */
  readonly initialDelayMs?: number;
  /** Default 10 s; also caps a Retry-After. */
  readonly maxDelayMs?: number;
  readonly onRetry?: (info: {
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: Error;
  }) => void;
}

export interface EventStreamOptions {
  /** First reconnection delay unless the server sent `retry:`; doubles per failure. Default 1 s. */
  readonly initialDelayMs?: number;
  /** Default 30 s. */
  readonly maxDelayMs?: number;
  /** Reconnect when nothing (not even a heartbeat) arrived for this long; default 90 s. */
  readonly idleTimeoutMs?: number;
}

export interface HemsClientOptions {
  /** Base URL of the utility's gateway, e.g. https://gateway.utility-a.example:8443 */
  readonly gatewayUrl: string;
  /** PEM trust root(s) for the gateway's TLS certificate. */
  readonly gatewayCaPem: string;
  /** The device certificate issued by the utility's Fabric CA (PEM). */
  readonly certificatePem: string;
  /** The device's own ECDSA P-256 private key (PEM, PKCS#8 or SEC1). */
  readonly privateKeyPem: string;
  /** Socket inactivity allowed per request before it fails; default 60 s. */
  readonly timeoutMs?: number;
  /** Retries of submitForecast. */
  readonly retry?: RetryOptions;
  readonly events?: EventStreamOptions;
}

export interface EnrollOptions {
  readonly gatewayUrl: string;
  readonly gatewayCaPem: string;
  readonly enrollmentId: string;
  /** The one-time enrolment secret: sent once to the gateway, never logged. */
  readonly secret: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What a device keeps after enrolment; the private key never left it. */
export interface DeviceCredentials {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}
