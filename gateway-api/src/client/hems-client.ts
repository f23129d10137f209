import { randomBytes, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { certificateMatchesKey, createEnrollmentRequest, importPrivateKeyPem } from './device-keys';
import { GatewayApiError, GatewayConnectionError } from './errors';
import { SseParser, type ServerSentEvent } from './sse';
import {
  connectionError,
  errorFromResponse,
  headerValue,
  isRecord,
  parseGatewayUrl,
  readBody,
  Transport,
} from './transport';

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

/** A forecast range in kW: 0 ≤ lower ≤ upper, at most three decimals. */
export interface ForecastRange {
  readonly lower: number;
  readonly upper: number;
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

/** GET /v1/slots/:slotId/dispatch: this home's allowed power. */
export interface SlotReceipt {
  readonly slotId: string;
  readonly org: string;
  readonly bus: string;
  readonly homeRef: string;
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

/** A public event of a trading window (opened, orders revealed, cleared, settled, grid share claimed). */
export interface WindowEvent {
  readonly type:
    'window-opened' | 'orders-revealed' | 'window-cleared' | 'window-settled' | 'grid-share-claimed';
  readonly id: string | undefined;
  readonly data: Readonly<Record<string, unknown>> & { readonly windowId: string };
}

const WINDOW_EVENT_TYPES: ReadonlySet<string> = new Set([
  'window-opened',
  'orders-revealed',
  'window-cleared',
  'window-settled',
  'grid-share-claimed',
]);

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

/** Same pattern as the gateway and chaincode use for slot ids. */
const SLOT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** Random bytes in each forecast nonce (the chaincode requires 16-64). */
export const NONCE_BYTES = 32;
const KW_SCALE = 1000;
const DEFAULT_TIMEOUT_MS = 60_000;

function checkSlotId(slotId: string, name = 'slotId'): void {
  if (typeof slotId !== 'string' || !SLOT_ID.test(slotId)) {
    throw new TypeError(`${name} must be 1-64 characters of letters, digits, ".", "_", ":" or "-"`);
  }
}

/** Window ids have the slot ids' form. */
function checkWindowId(windowId: string): void {
  checkSlotId(windowId, 'windowId');
}

/** True when `value * 10^places` is a whole number, exactly (the chaincode's rule). */
function hasAtMostDecimals(value: number, places: number): boolean {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale === value;
}

/** The chaincode's bounds (chaincode/src/auction/orders.ts): 1 GWh per order, 100000 per MWh. */
const MAX_ORDER_KWH = 1_000_000;
const MAX_PRICE = 100_000;
/** Price units per currency per MWh, and value units (Wh × price units) per 1e-4 currency. */
const PRICE_SCALE = 10_000n;
const VALUE_UNITS_PER_ESCROW_UNIT = 1_000_000n;
const ESCROW = /^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$/;

/** Currency with at most 4 decimals as a count of 1e-4 units; messages never hold the value. */
function escrowUnits(value: number | string): bigint {
  const text =
    typeof value === 'number' && Number.isFinite(value) && value >= 0 && hasAtMostDecimals(value, 4)
      ? value.toFixed(4)
      : value;
  const match = typeof text === 'string' ? ESCROW.exec(text) : null;
  if (match === null) {
    throw new RangeError('order escrow must be a non-negative currency amount with at most 4 decimals');
  }
  return BigInt(match[1] ?? '0') * 10_000n + BigInt((match[2] ?? '.').slice(1).padEnd(4, '0'));
}

/** 1e-4 currency units as the plain decimal string the chaincode reads ("12.5", "0"). */
function formatEscrow(units: bigint): string {
  const fraction = (units % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return `${(units / 10_000n).toString()}${fraction === '' ? '' : `.${fraction}`}`;
}

/** Escrow units (1e-4 currency) per whole currency unit. */
const ESCROW_UNITS_PER_CURRENCY = 10_000n;

/**
 * The default escrow of a bid covering `covering` escrow units: the next power of two in whole
 * currency units at or above it, at least 1 currency unit, so the public escrow shows only a
 * coarse bucket of the bid's value (its energy × price) rather than the product itself.
 */
export function paddedEscrowUnits(covering: bigint): bigint {
  let whole = 1n;
  while (whole * ESCROW_UNITS_PER_CURRENCY < covering) {
    whole *= 2n;
  }
  return whole * ESCROW_UNITS_PER_CURRENCY;
}

/**
 * Validates an order (messages never contain its values) and settles its escrow: "0" for offers;
 * for bids the given escrow, which must cover energy × limitPrice, or by default that value
 * padded to the next power of two in whole currency units (paddedEscrowUnits).
 */
export function checkOrder(order: OrderSpec): { escrow: string } {
  if (!isRecord(order)) {
    throw new TypeError('order must be an object {side, energyKwh, limitPrice, escrow?}');
  }
  if (order.side !== 'offer' && order.side !== 'bid') {
    throw new RangeError('order side must be "offer" or "bid"');
  }
  const { energyKwh, limitPrice } = order;
  if (
    typeof energyKwh !== 'number' ||
    !Number.isFinite(energyKwh) ||
    energyKwh <= 0 ||
    energyKwh > MAX_ORDER_KWH
  ) {
    throw new RangeError(
      `order energyKwh must be a finite number of kWh above 0 and at most ${MAX_ORDER_KWH}`,
    );
  }
  if (!hasAtMostDecimals(energyKwh, 3)) {
    throw new RangeError('order energyKwh must have at most 3 decimals (whole Wh)');
  }
  if (
    typeof limitPrice !== 'number' ||
    !Number.isFinite(limitPrice) ||
    limitPrice < 0 ||
    limitPrice > MAX_PRICE
  ) {
    throw new RangeError(`order limitPrice must be a finite price per MWh from 0 to ${MAX_PRICE}`);
  }
  if (!hasAtMostDecimals(limitPrice, 4)) {
    throw new RangeError('order limitPrice must have at most 4 decimals');
  }
  if (order.side === 'offer') {
    if (order.escrow !== undefined && escrowUnits(order.escrow) !== 0n) {
      throw new RangeError('an offer carries no escrow');
    }
    return { escrow: '0' };
  }
  // value units = Wh × price units; one escrow unit (1e-4 currency) is 1e6 value units.
  const value = BigInt(Math.round(energyKwh * 1000)) * BigInt(Math.round(limitPrice * Number(PRICE_SCALE)));
  const covering = (value + VALUE_UNITS_PER_ESCROW_UNIT - 1n) / VALUE_UNITS_PER_ESCROW_UNIT;
  if (order.escrow === undefined) {
    return { escrow: formatEscrow(paddedEscrowUnits(covering)) };
  }
  const given = escrowUnits(order.escrow);
  if (given < covering) {
    throw new RangeError('order escrow must cover energyKwh × limitPrice');
  }
  return { escrow: formatEscrow(given) };
}

/**
 * The exact payload text a device signs for an order: canonical JSON (members sorted by name,
 * no spaces), as the chaincode stores and reveals it.
 */
export function orderPayload(windowId: string, order: OrderSpec, escrow: string, nonce: string): string {
  // Written in sorted member order; -0 serializes as 0.
  return JSON.stringify({
    energyKwh: order.energyKwh + 0,
    escrow,
    limitPrice: order.limitPrice + 0,
    nonce,
    side: order.side,
    windowId,
  });
}

/** The canonical payload of a signed cancellation. */
export function cancelPayload(windowId: string, nonce: string): string {
  return JSON.stringify({ action: 'cancel', nonce, windowId });
}

/** Checks a kW value without ever putting the value in the message. */
function checkKw(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number of kW, at least 0`);
  }
  // The chaincode's own rule (requireDecimalPlaces), so what passes here passes there.
  if (Math.abs(Math.round(value * KW_SCALE) - value * KW_SCALE) > 1e-6) {
    throw new RangeError(`${name} must have at most 3 decimals (watt resolution)`);
  }
}

/** Validates a forecast range (0 ≤ lower ≤ upper, ≤ 3 decimals); messages never contain the values. */
export function checkForecastRange(range: ForecastRange): void {
  if (!isRecord(range)) {
    throw new TypeError('forecast must be an object {lower, upper}');
  }
  checkKw(range.lower, 'forecast lower');
  checkKw(range.upper, 'forecast upper');
  if (range.lower > range.upper) {
    throw new RangeError('forecast lower must not exceed upper');
  }
}

/** Validates a drawn power (finite, ≥ 0, ≤ 3 decimals); messages never contain the value. */
export function checkDrawnKw(drawnKw: number): void {
  checkKw(drawnKw, 'drawnKw');
}

/** The exact consumption payload text a device signs, members in this order: slotId, drawnKw, nonce. */
export function consumptionPayload(slotId: string, drawnKw: number, nonce: string): string {
  return JSON.stringify({ slotId, drawnKw: drawnKw + 0, nonce });
}

/** The exact payload text a device signs, members in this order: slotId, lower, upper, nonce. */
export function forecastPayload(slotId: string, range: ForecastRange, nonce: string): string {
  // -0 serializes as 0; anything else as JSON's shortest round-trip form.
  return JSON.stringify({ slotId, lower: range.lower + 0, upper: range.upper + 0, nonce });
}

function expectRecord(body: unknown, what: string, statusCode: number): Record<string, unknown> {
  if (!isRecord(body)) {
    throw new GatewayApiError(
      statusCode,
      'BAD_RESPONSE',
      `the gateway answered ${what} that is not a JSON object`,
    );
  }
  return body;
}

function isTransient(error: unknown): boolean {
  return (error instanceof GatewayApiError || error instanceof GatewayConnectionError) && error.transient;
}

/** Equal jitter: between half and all of `ms`. */
function jitter(ms: number): number {
  return Math.round(ms / 2 + (Math.random() * ms) / 2);
}

/** Wraps an error thrown by the caller's event handler, to tell it apart from stream failures. */
class HandlerFailure extends Error {
  constructor(readonly error: unknown) {
    super('the event handler failed');
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function parseEventData(text: string): unknown {
  if (text === '') {
    return null;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The typed event, or why it is skipped. */
function toHemsEvent(event: ServerSentEvent): HemsEvent | { skipped: string } {
  const id = event.id === '' ? undefined : event.id;
  if (event.type === 'reset') {
    return { type: 'reset', id, data: parseEventData(event.data) };
  }
  if (WINDOW_EVENT_TYPES.has(event.type)) {
    const data = parseEventData(event.data);
    if (!isRecord(data) || typeof data.windowId !== 'string') {
      return { skipped: 'data is not a JSON object with a windowId' };
    }
    return { type: event.type as WindowEvent['type'], id, data: data as WindowEvent['data'] };
  }
  if (event.type !== 'slot-opened' && event.type !== 'dispatch-published') {
    return { skipped: 'unknown event type' };
  }
  const data = parseEventData(event.data);
  if (!isRecord(data) || typeof data.slotId !== 'string') {
    return { skipped: 'data is not a JSON object with a slotId' };
  }
  if (event.type === 'dispatch-published') {
    if (typeof data.lambda !== 'number') {
      return { skipped: 'data has no numeric lambda' };
    }
    return { type: 'dispatch-published', id, data: data as unknown as DispatchPublishedEvent['data'] };
  }
  return { type: 'slot-opened', id, data: data as unknown as SlotOpenedEvent['data'] };
}

function orderReceiptOf(body: unknown, statusCode: number, replay: string | undefined): OrderReceipt {
  const receipt = expectRecord(body, 'an order receipt', statusCode);
  const optional = (name: string, type: 'string' | 'boolean'): Record<string, unknown> =>
    typeof receipt[name] === type ? { [name]: receipt[name] } : {};
  return {
    windowId: String(receipt.windowId),
    txId: String(receipt.txId),
    ...optional('acceptedAt', 'string'),
    ...optional('replaced', 'boolean'),
    ...optional('cancelled', 'boolean'),
    ...optional('escrow', 'string'),
    ...optional('refunded', 'string'),
    replayed: replay === 'true',
  };
}

/**
 * A HEMS device's client of its utility's gateway: mutual TLS with the device certificate,
 * forecasts signed with the device key (which never leaves the device).
 */
export class HemsClient {
  private readonly transport: Transport;
  private readonly privateKey: KeyObject;
  private readonly retry: Required<Omit<RetryOptions, 'onRetry'>> & Pick<RetryOptions, 'onRetry'>;
  private readonly events: Required<EventStreamOptions>;
  /** The device certificate. */
  readonly certificate: X509Certificate;

  constructor(options: HemsClientOptions) {
    const base = parseGatewayUrl(options.gatewayUrl);
    if (
      typeof options.gatewayCaPem !== 'string' ||
      !options.gatewayCaPem.includes('-----BEGIN CERTIFICATE-----')
    ) {
      throw new TypeError('gatewayCaPem must hold a PEM certificate');
    }
    try {
      this.certificate = new X509Certificate(options.certificatePem);
    } catch {
      throw new TypeError('certificatePem is not a PEM X.509 certificate');
    }
    this.privateKey = importPrivateKeyPem(options.privateKeyPem);
    if (!certificateMatchesKey(this.certificate, this.privateKey)) {
      throw new Error('the device certificate does not certify the device key');
    }
    this.retry = {
      attempts: Math.max(1, Math.floor(options.retry?.attempts ?? 5)),
      initialDelayMs: options.retry?.initialDelayMs ?? 500,
      maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
      onRetry: options.retry?.onRetry,
    };
    this.events = {
      initialDelayMs: options.events?.initialDelayMs ?? 1000,
      maxDelayMs: options.events?.maxDelayMs ?? 30_000,
      idleTimeoutMs: options.events?.idleTimeoutMs ?? 90_000,
    };
    this.transport = new Transport(
      base,
      { ca: options.gatewayCaPem, cert: options.certificatePem, key: options.privateKeyPem },
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
  }

  /**
   * Enrols a device: generates its ECDSA P-256 key pair and a CSR (CN = enrollmentId) here,
   * sends only the CSR with the one-time secret to POST /v1/enroll, and checks that the
   * certificate it gets back certifies its key.
   */
  static async enroll(options: EnrollOptions): Promise<DeviceCredentials> {
    const base = parseGatewayUrl(options.gatewayUrl);
    const { csrPem, privateKeyPem } = await createEnrollmentRequest(options.enrollmentId);
    const transport = new Transport(
      base,
      { ca: options.gatewayCaPem },
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    try {
      const response = await transport.call('POST', '/v1/enroll', {
        body: { enrollmentId: options.enrollmentId, secret: options.secret, csr: csrPem },
        signal: options.signal,
      });
      const body = expectRecord(response.body, 'an enrolment', response.statusCode);
      if (typeof body.certificate !== 'string') {
        throw new GatewayApiError(
          response.statusCode,
          'BAD_RESPONSE',
          'the enrolment answer has no certificate',
        );
      }
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(body.certificate);
      } catch {
        throw new GatewayApiError(
          response.statusCode,
          'BAD_RESPONSE',
          'the enrolment answer is not a PEM certificate',
        );
      }
      if (!certificateMatchesKey(certificate, importPrivateKeyPem(privateKeyPem))) {
        throw new GatewayApiError(
          response.statusCode,
          'BAD_RESPONSE',
          'the issued certificate does not certify the key this device generated',
        );
      }
      const certificatePem = body.certificate.endsWith('\n') ? body.certificate : `${body.certificate}\n`;
      return { certificatePem, privateKeyPem };
    } finally {
      transport.close();
    }
  }

  /** The slot's state, this device's bus's price range and λ. */
  async getSlot(slotId: string, options: CallOptions = {}): Promise<SlotInfo> {
    checkSlotId(slotId);
    const response = await this.transport.call('GET', `/v1/slots/${encodeURIComponent(slotId)}`, {
      signal: options.signal,
    });
    return expectRecord(response.body, 'a slot', response.statusCode) as unknown as SlotInfo;
  }

  /**
   * This home's reference for a slot: what the home gives an auditor, with its revealed forecast,
   * to prove its submission in that slot. A reference holds for one slot only.
   */
  async getReceipt(slotId: string, options: CallOptions = {}): Promise<SlotReceipt> {
    checkSlotId(slotId);
    const response = await this.transport.call('GET', `/v1/slots/${encodeURIComponent(slotId)}/receipt`, {
      signal: options.signal,
    });
    return expectRecord(response.body, 'a receipt', response.statusCode) as unknown as SlotReceipt;
  }

  /** This home's allowed power for the slot, once λ is published. */
  async getDispatch(slotId: string, options: CallOptions = {}): Promise<DispatchInfo> {
    checkSlotId(slotId);
    const response = await this.transport.call('GET', `/v1/slots/${encodeURIComponent(slotId)}/dispatch`, {
      signal: options.signal,
    });
    return expectRecord(response.body, 'a dispatch', response.statusCode) as unknown as DispatchInfo;
  }

  /**
   * Builds the forecast payload with a fresh nonce, signs it with the device key and picks a new
   * idempotency key; nothing is sent.
   */
  signForecast(slotId: string, range: ForecastRange): SignedForecast {
    checkSlotId(slotId);
    checkForecastRange(range);
    const payload = forecastPayload(slotId, range, randomBytes(NONCE_BYTES).toString('base64'));
    const signature = sign('sha256', Buffer.from(payload, 'utf8'), this.privateKey).toString('base64');
    return { slotId, payload, signature, idempotencyKey: randomUUID() };
  }

  /**
   * Sends a signed forecast; network failures and 429/502/503/504 (and 409
   * IDEMPOTENCY_KEY_IN_USE) are retried with backoff, each time with the same payload, signature
   * and Idempotency-Key, so the gateway submits it at most once.
   */
  async submitSignedForecast(forecast: SignedForecast, options: CallOptions = {}): Promise<ForecastReceipt> {
    checkSlotId(forecast.slotId);
    const path = `/v1/slots/${encodeURIComponent(forecast.slotId)}/forecast`;
    const body = { payload: forecast.payload, signature: forecast.signature };
    const headers = { 'idempotency-key': forecast.idempotencyKey };
    const response = await this.withRetry(
      () => this.transport.call('POST', path, { body, headers, signal: options.signal }),
      options.signal,
    );
    const receipt = expectRecord(response.body, 'a forecast receipt', response.statusCode);
    return {
      slotId: String(receipt.slotId),
      txId: String(receipt.txId),
      acceptedAt: String(receipt.acceptedAt),
      replayed: headerValue(response.headers, 'idempotent-replay') === 'true',
    };
  }

  /** Signs and submits a forecast range for the slot (see signForecast and submitSignedForecast). */
  async submitForecast(
    slotId: string,
    range: ForecastRange,
    options: CallOptions = {},
  ): Promise<ForecastReceipt> {
    return this.submitSignedForecast(this.signForecast(slotId, range), options);
  }

  /**
   * Builds the consumption payload (the power drawn during the dispatched slot) with a fresh
   * nonce, signs it with the device key and picks a new idempotency key; nothing is sent.
   */
  signConsumption(slotId: string, drawnKw: number): SignedConsumption {
    checkSlotId(slotId);
    checkDrawnKw(drawnKw);
    const payload = consumptionPayload(slotId, drawnKw, randomBytes(NONCE_BYTES).toString('base64'));
    const signature = sign('sha256', Buffer.from(payload, 'utf8'), this.privateKey).toString('base64');
    return { slotId, payload, signature, idempotencyKey: randomUUID() };
  }

  /**
   * Sends a signed consumption report, retried like a forecast with the same payload, signature and
   * Idempotency-Key, so the gateway submits it at most once.
   */
  async submitSignedConsumption(
    report: SignedConsumption,
    options: CallOptions = {},
  ): Promise<ConsumptionReceipt> {
    checkSlotId(report.slotId);
    const path = `/v1/slots/${encodeURIComponent(report.slotId)}/consumption`;
    const body = { payload: report.payload, signature: report.signature };
    const headers = { 'idempotency-key': report.idempotencyKey };
    const response = await this.withRetry(
      () => this.transport.call('POST', path, { body, headers, signal: options.signal }),
      options.signal,
    );
    const receipt = expectRecord(response.body, 'a consumption receipt', response.statusCode);
    return {
      slotId: String(receipt.slotId),
      txId: String(receipt.txId),
      recordedAt: String(receipt.recordedAt),
      replayed: headerValue(response.headers, 'idempotent-replay') === 'true',
    };
  }

  /** Signs and reports the power drawn in a dispatched slot (see signConsumption). */
  async reportConsumption(
    slotId: string,
    drawnKw: number,
    options: CallOptions = {},
  ): Promise<ConsumptionReceipt> {
    return this.submitSignedConsumption(this.signConsumption(slotId, drawnKw), options);
  }

  /** A trading window: its spec, status and, once cleared, the clearing price and trades. */
  async getWindow(windowId: string, options: CallOptions = {}): Promise<WindowInfo> {
    checkWindowId(windowId);
    const response = await this.transport.call('GET', `/v1/windows/${encodeURIComponent(windowId)}`, {
      signal: options.signal,
    });
    return expectRecord(response.body, 'a window', response.statusCode) as unknown as WindowInfo;
  }

  /** This home's token account: balance and escrow (value units of 1e-10 currency). */
  async getMyAccount(options: CallOptions = {}): Promise<AccountInfo> {
    const response = await this.transport.call('GET', '/v1/accounts/me', { signal: options.signal });
    return expectRecord(response.body, 'an account', response.statusCode) as unknown as AccountInfo;
  }

  /**
   * Builds the order payload (canonical JSON with a fresh nonce and its escrow), signs it with the
   * device key and picks a new idempotency key; nothing is sent.
   */
  signOrder(windowId: string, order: OrderSpec): SignedOrder {
    checkWindowId(windowId);
    const { escrow } = checkOrder(order);
    return this.signed(
      windowId,
      orderPayload(windowId, order, escrow, randomBytes(NONCE_BYTES).toString('base64')),
    );
  }

  /** Signs a cancellation of this home's order in the window; nothing is sent. */
  signCancel(windowId: string): SignedOrder {
    checkWindowId(windowId);
    return this.signed(windowId, cancelPayload(windowId, randomBytes(NONCE_BYTES).toString('base64')));
  }

  /**
   * Sends a signed order (a new one replaces this home's earlier order in the window), retried
   * like forecasts with the same body and Idempotency-Key, so the gateway submits it at most once.
   */
  async submitSignedOrder(order: SignedOrder, options: CallOptions = {}): Promise<OrderReceipt> {
    checkWindowId(order.windowId);
    const path = `/v1/windows/${encodeURIComponent(order.windowId)}/orders`;
    const body = { payload: order.payload, signature: order.signature };
    const headers = { 'idempotency-key': order.idempotencyKey };
    const response = await this.withRetry(
      () => this.transport.call('POST', path, { body, headers, signal: options.signal }),
      options.signal,
    );
    return orderReceiptOf(
      response.body,
      response.statusCode,
      headerValue(response.headers, 'idempotent-replay'),
    );
  }

  /** Signs and submits an order for the window (see signOrder and submitSignedOrder). */
  async submitOrder(windowId: string, order: OrderSpec, options: CallOptions = {}): Promise<OrderReceipt> {
    return this.submitSignedOrder(this.signOrder(windowId, order), options);
  }

  /**
   * Cancels this home's order in the window; a bid's escrow is refunded. Sent once: a DELETE has
   * no idempotency key, and the chaincode refuses a signed cancellation it has already seen.
   */
  async cancelOrder(windowId: string, options: CallOptions = {}): Promise<OrderReceipt> {
    const cancel = this.signCancel(windowId);
    const response = await this.transport.call(
      'DELETE',
      `/v1/windows/${encodeURIComponent(windowId)}/orders`,
      {
        body: { payload: cancel.payload, signature: cancel.signature },
        signal: options.signal,
      },
    );
    return orderReceiptOf(response.body, response.statusCode, undefined);
  }

  private signed(windowId: string, payload: string): SignedOrder {
    const signature = sign('sha256', Buffer.from(payload, 'utf8'), this.privateKey).toString('base64');
    return { windowId, payload, signature, idempotencyKey: randomUUID() };
  }

  /**
   * Follows GET /v1/events: calls `handler` for each slot-opened, dispatch-published and reset
   * event, one at a time (the next waits for the handler's promise). Reconnects after failures and
   * when the stream ends, with Last-Event-ID and growing delays; stops on `signal` and resolves
   * with the last event id seen (to resume from later). Rejects when the handler throws or the
   * gateway refuses the stream (a 4xx other than 429, or an answer that is not an event stream).
   */
  async followEvents(
    handler: (event: HemsEvent) => void | Promise<void>,
    options: FollowEventsOptions = {},
  ): Promise<{ lastEventId: string | undefined }> {
    const { signal, onStatus } = options;
    let lastEventId = options.lastEventId === '' ? undefined : options.lastEventId;
    let failures = 0;
    let serverRetryMs: number | undefined;
    while (!isAborted(signal)) {
      let failure: Error;
      try {
        const outcome = await this.readEventStream(lastEventId, signal, {
          connected: () => {
            failures = 0;
            onStatus?.({ state: 'connected', lastEventId });
          },
          event: async (event) => {
            const typed = toHemsEvent(event);
            if ('skipped' in typed) {
              onStatus?.({ state: 'skipped', eventType: event.type, reason: typed.skipped });
            } else {
              try {
                await handler(typed);
              } catch (error) {
                throw new HandlerFailure(error);
              }
            }
            lastEventId = event.id === '' ? undefined : event.id;
          },
          position: (parser) => {
            lastEventId = parser.lastEventId === '' ? undefined : parser.lastEventId;
            serverRetryMs = parser.retryMs ?? serverRetryMs;
          },
        });
        if (outcome === 'stop') {
          break;
        }
        failure = new GatewayConnectionError('STREAM_ENDED', 'the gateway ended the event stream');
      } catch (error) {
        if (error instanceof HandlerFailure) {
          throw error.error;
        }
        if (isAborted(signal)) {
          break;
        }
        // Reading is safe to repeat: any 5xx is worth a reconnection here, not only transient ones.
        const serverError = error instanceof GatewayApiError && error.statusCode >= 500;
        if (!isTransient(error) && !serverError) {
          throw error;
        }
        failure = error as Error;
      }
      const base = serverRetryMs ?? this.events.initialDelayMs;
      const delayMs = jitter(Math.min(this.events.maxDelayMs, base * 2 ** Math.min(failures, 20)));
      failures += 1;
      onStatus?.({ state: 'reconnecting', delayMs, error: failure });
      try {
        await delay(delayMs, undefined, signal === undefined ? {} : { signal });
      } catch {
        break;
      }
    }
    return { lastEventId };
  }

  /** Closes kept-alive connections to the gateway. */
  close(): void {
    this.transport.close();
  }

  /** One connection of the event stream; 'stop' when the gateway answered 204 (do not reconnect). */
  private async readEventStream(
    lastEventId: string | undefined,
    signal: AbortSignal | undefined,
    on: {
      connected: () => void;
      event: (event: ServerSentEvent) => Promise<void>;
      position: (parser: SseParser) => void;
    },
  ): Promise<'ended' | 'stop'> {
    const { request, response } = await this.transport.open('GET', '/v1/events', {
      headers: {
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
      },
      signal,
      timeoutMs: this.events.idleTimeoutMs,
    });
    const statusCode = response.statusCode ?? 0;
    if (statusCode === 204) {
      response.resume();
      return 'stop';
    }
    if (statusCode !== 200) {
      throw errorFromResponse(statusCode, response.headers, await readBody(response));
    }
    if (!(headerValue(response.headers, 'content-type') ?? '').startsWith('text/event-stream')) {
      response.destroy();
      throw new GatewayApiError(statusCode, 'BAD_RESPONSE', 'the gateway did not answer an event stream');
    }
    // From here the idle timer below is the only timeout: it pauses while the handler runs.
    request.setTimeout(0);
    on.connected();
    return this.readEvents(response, lastEventId, on);
  }

  private async readEvents(
    response: IncomingMessage,
    lastEventId: string | undefined,
    on: { event: (event: ServerSentEvent) => Promise<void>; position: (parser: SseParser) => void },
  ): Promise<'ended'> {
    const parser = new SseParser({ lastEventId: lastEventId ?? '' });
    const idleMs = this.events.idleTimeoutMs;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        response.destroy(
          new GatewayConnectionError('TIMEOUT', `nothing from the gateway's event stream for ${idleMs} ms`),
        );
      }, idleMs);
    };
    try {
      arm();
      for await (const chunk of response) {
        clearTimeout(idle);
        let events: ServerSentEvent[];
        try {
          events = parser.push(chunk as Buffer);
        } catch (error) {
          throw new GatewayConnectionError('PROTOCOL_ERROR', (error as Error).message, { cause: error });
        }
        for (const event of events) {
          await on.event(event);
        }
        on.position(parser);
        arm();
      }
    } catch (error) {
      throw error instanceof HandlerFailure ? error : connectionError(error);
    } finally {
      clearTimeout(idle);
      response.destroy();
    }
    parser.end();
    on.position(parser);
    return 'ended';
  }

  private async withRetry<T>(attempt: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const { attempts, initialDelayMs, maxDelayMs, onRetry } = this.retry;
    for (let number = 1; ; number += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (number >= attempts || !isTransient(error) || signal?.aborted === true) {
          throw error;
        }
        const backoff = jitter(Math.min(maxDelayMs, initialDelayMs * 2 ** (number - 1)));
        const retryAfter = error instanceof GatewayApiError ? error.retryAfterMs : undefined;
        const delayMs = Math.min(maxDelayMs, Math.max(backoff, retryAfter ?? 0));
        onRetry?.({ attempt: number, delayMs, error: error as Error });
        await delay(delayMs, undefined, signal === undefined ? {} : { signal });
      }
    }
  }
}
