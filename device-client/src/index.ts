/**
 * The HEMS device client library: key generation and enrolment, signed forecasts, prices,
 * dispatch and the event stream of a utility's gateway, over HTTPS with mutual TLS.
 */
export * from './device-keys';
export * from './errors';
export * from './hems-client';
export * from './types';
export { checkDrawnKw, checkForecastRange, checkOrder, paddedEscrowUnits } from './validation';
export { SseParser, SseProtocolError, type ServerSentEvent, type SseParserOptions } from './sse';
// The payload texts the client signs, as the protocol defines them.
export {
  cancelPayload,
  consumptionPayload,
  forecastPayload,
  NONCE_BYTES,
  orderPayload,
} from '@hems/protocol';
