/*
 * The gateway's public entry: building the app, its configuration, and the DSO's dispatch
 * optimizer (used by the simulated day's dispatcher and its reports).
 */
export { buildApp, LOG_REDACTIONS, type AppOptions } from './app';
export { DEFAULT_PORTS, loadConfig, type GatewayConfig } from './config';
export {
  busAggregatesOf,
  busLambda,
  planDispatch,
  type BusAggregate,
  type BusDispatch,
  type DispatchOptions,
  type DispatchPlan,
} from './services/dispatch-optimizer';
