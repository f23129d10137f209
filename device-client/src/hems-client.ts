import { randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import {
  cancelPayload,
  consumptionPayload,
  forecastPayload,
  freshNonce,
  orderPayload,
  signPayload,
  type ForecastRange,
} from '@hems/protocol';
import { expectRecord, orderReceiptOf, slotReceiptOf } from './answers';
import { certificateMatchesKey, createEnrollmentRequest, importPrivateKeyPem } from './device-keys';
import { GatewayApiError } from './errors';
import { followEvents } from './event-stream';
import { retrySettings, withRetry, type RetrySettings } from './retry';
import { headerValue, parseGatewayUrl, Transport, type JsonResponse } from './transport';
import type {
  AccountInfo,
  CallOptions,
  ConsumptionReceipt,
  DeviceCredentials,
  DispatchInfo,
  EnrollOptions,
  EventStreamOptions,
  FollowEventsOptions,
  ForecastReceipt,
  HemsClientOptions,
  HemsEvent,
  OrderReceipt,
  OrderSpec,
  SignedConsumption,
  SignedForecast,
  SignedOrder,
  SignedSubmission,
  SlotInfo,
  SlotReceipt,
  WindowInfo,
} from './types';
import { checkDrawnKw, checkForecastRange, checkOrder, checkSlotId, checkWindowId } from './validation';

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * A HEMS device's client of its utility's gateway: mutual TLS with the device certificate,
 * forecasts signed with the device key (which never leaves the device).
 */
export class HemsClient {
  private readonly transport: Transport;
  private readonly privateKey: KeyObject;
  private readonly retry: RetrySettings;
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
    this.retry = retrySettings(options.retry);
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
    return { slotId, ...this.signed(forecastPayload(slotId, range, freshNonce())) };
  }

  /**
   * Sends a signed forecast; network failures and 429/502/503/504 (and 409
   * IDEMPOTENCY_KEY_IN_USE) are retried with backoff, each time with the same payload, signature
   * and Idempotency-Key, so the gateway submits it at most once.
   */
  async submitSignedForecast(forecast: SignedForecast, options: CallOptions = {}): Promise<ForecastReceipt> {
    checkSlotId(forecast.slotId);
    const path = `/v1/slots/${encodeURIComponent(forecast.slotId)}/forecast`;
    const response = await this.postSigned(path, forecast, options.signal);
    return slotReceiptOf(response, 'a forecast receipt', 'acceptedAt');
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
    return { slotId, ...this.signed(consumptionPayload(slotId, drawnKw, freshNonce())) };
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
    const response = await this.postSigned(path, report, options.signal);
    return slotReceiptOf(response, 'a consumption receipt', 'recordedAt');
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
    return { windowId, ...this.signed(orderPayload(windowId, order, escrow, freshNonce())) };
  }

  /** Signs a cancellation of this home's order in the window; nothing is sent. */
  signCancel(windowId: string): SignedOrder {
    checkWindowId(windowId);
    return { windowId, ...this.signed(cancelPayload(windowId, freshNonce())) };
  }

  /**
   * Sends a signed order (a new one replaces this home's earlier order in the window), retried
   * like forecasts with the same body and Idempotency-Key, so the gateway submits it at most once.
   */
  async submitSignedOrder(order: SignedOrder, options: CallOptions = {}): Promise<OrderReceipt> {
    checkWindowId(order.windowId);
    const path = `/v1/windows/${encodeURIComponent(order.windowId)}/orders`;
    const response = await this.postSigned(path, order, options.signal);
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

  /** A payload signed with the device key, with a new idempotency key for its submission. */
  private signed(payload: string): SignedSubmission {
    return { payload, signature: signPayload(this.privateKey, payload), idempotencyKey: randomUUID() };
  }

  /**
   * POSTs a signed payload; network failures and 429/502/503/504 (and 409 IDEMPOTENCY_KEY_IN_USE)
   * are retried with backoff, each time with the same payload, signature and Idempotency-Key.
   */
  private postSigned(path: string, signed: SignedSubmission, signal?: AbortSignal): Promise<JsonResponse> {
    const body = { payload: signed.payload, signature: signed.signature };
    const headers = { 'idempotency-key': signed.idempotencyKey };
    return withRetry(this.retry, () => this.transport.call('POST', path, { body, headers, signal }), signal);
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
    return followEvents(this.transport, this.events, handler, options);
  }

  /** Closes kept-alive connections to the gateway. */
  close(): void {
    this.transport.close();
  }
}
