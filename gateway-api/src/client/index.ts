/**
 * The HEMS device client library: key generation and enrolment, signed forecasts, prices,
 * dispatch and the event stream of a utility's gateway, over HTTPS with mutual TLS.
 */
export * from './device-keys';
export * from './errors';
export * from './hems-client';
export { SseParser, SseProtocolError, type ServerSentEvent, type SseParserOptions } from './sse';
