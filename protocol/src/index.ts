/*
 * The HEMS wire protocol, shared by the chaincode, the gateways, the device client and the
 * scripts: names, identifiers, limits, refusal codes, canonical JSON, the device-signed payload
 * formats and the auction's clearing rule. Nothing here depends on Fabric.
 */
export * from './names';
export * from './identifiers';
export * from './limits';
export * from './errors';
export * from './validation';
export * from './json/canonical-json';
export * from './identity/certificates';
export * from './payloads/forecast';
export * from './payloads/consumption';
export * from './payloads/order';
export * from './payloads/device-payloads';
export * from './payloads/signing';
export * from './timeslot/prices';
export * from './timeslot/schedule';
export * from './timeslot/forecast-batch';
export * from './timeslot/metering';
export * from './timeslot/emergency';
export * from './governance/settings';
export * from './auction/amounts';
export * from './auction/orders';
export * from './auction/clearing';
export * from './auction/records';
export * from './auction/commitment';
export * from './dr';
export * from './timeslot/slot-view';
export * from './events';
