/**
 * The chaincode's wire names: contracts, their transactions and the chaincode events. The
 * chaincode's contract classes, the gateway's ledger facades, the metadata check and the tests all
 * read them from here, so a renamed transaction fails to compile instead of failing at run time.
 */

/** Contracts of the chaincode; `timeslot` is the default one (called by bare transaction names). */
export const CONTRACTS = ['timeslot', 'governance', 'auction', 'token', 'dr'] as const;
export type ContractName = (typeof CONTRACTS)[number];

export const TIMESLOT_TRANSACTIONS = [
  'OpenSlot',
  'GetSlot',
  'ListSlots',
  'SubmitForecast',
  'SubmitForecasts',
  'ListForecastBatches',
  'ListForecastNonces',
  'PublishAggregate',
  'PublishDispatch',
  'GetAllowedPower',
  'GetAllowedPowers',
  'ReportConsumption',
  'ReportConsumptions',
  'RecordMeterReadings',
  'DeclareEmergency',
  'ListConsumptionRefs',
  'PublishConsumption',
  'GetHomeRef',
  'GetHomeRefs',
  'SettleSlot',
  'PurgeForecasts',
  'GetSlotHistory',
  'GetForecastProof',
  'VerifyForecastProof',
] as const;

export const GOVERNANCE_TRANSACTIONS = [
  'RegisterOrgCAs',
  'GetOrgCAs',
  'RevokeDeviceCertificate',
  'GetRevocations',
  'SetEnrolledHomes',
  'GetEnrolment',
  'SetHomeRefSecret',
  'RegisterVen',
  'RevokeVen',
  'GetVen',
  'ListVens',
  'GetSettings',
  'ProposeSettings',
  'ApproveSettings',
  'GetSettingsProposal',
] as const;

export const AUCTION_TRANSACTIONS = [
  'OpenTradingWindow',
  'GetWindow',
  'ListWindows',
  'PostAvailableEnergy',
  'SubmitOrder',
  'CancelOrder',
  'SubmitOrders',
  'CancelOrders',
  'ListOrderRefs',
  'CommitOrders',
  'RevealOrders',
  'ClearWindow',
  'GetClearing',
  'AuditClearing',
  'ReleaseEscrow',
  'ReportDelivery',
  'CloseDeliveryReports',
  'SettleWindow',
  'ClaimGridShare',
] as const;

export const TOKEN_TRANSACTIONS = [
  'Deposit',
  'GetAccount',
  'GetAccountHistory',
  'GetMyAccount',
  'GetAccountId',
  'ReconcileTokens',
  'FundDrPool',
  'MintForProduction',
] as const;

/** Demand response: meter history, events, baselines and rewards (docs/demand-response.md). */
export const DR_TRANSACTIONS = [
  'RecordMeterDays',
  'DeclareEvent',
  'GetEvent',
  'ListEvents',
  'PayRewards',
  'PublishRewardTotals',
  'GetMyReward',
  'AuditEvent',
] as const;

export type TimeslotTransaction = (typeof TIMESLOT_TRANSACTIONS)[number];
export type GovernanceTransaction = (typeof GOVERNANCE_TRANSACTIONS)[number];
export type AuctionTransaction = (typeof AUCTION_TRANSACTIONS)[number];
export type TokenTransaction = (typeof TOKEN_TRANSACTIONS)[number];
export type DrTransaction = (typeof DR_TRANSACTIONS)[number];

/** Every transaction of the public interface, by contract. */
export const TRANSACTIONS: {
  readonly timeslot: readonly TimeslotTransaction[];
  readonly governance: readonly GovernanceTransaction[];
  readonly auction: readonly AuctionTransaction[];
  readonly token: readonly TokenTransaction[];
  readonly dr: readonly DrTransaction[];
} = {
  timeslot: TIMESLOT_TRANSACTIONS,
  governance: GOVERNANCE_TRANSACTIONS,
  auction: AUCTION_TRANSACTIONS,
  token: TOKEN_TRANSACTIONS,
  dr: DR_TRANSACTIONS,
};

/** The transactions of one contract. */
export interface TransactionOf {
  readonly timeslot: TimeslotTransaction;
  readonly governance: GovernanceTransaction;
  readonly auction: AuctionTransaction;
  readonly token: TokenTransaction;
  readonly dr: DrTransaction;
}

/** Chaincode events of the timeslot contract (their payloads: ./events.ts). */
export const SLOT_EVENTS = {
  opened: 'SlotOpened',
  aggregatePublished: 'AggregatePublished',
  dispatchPublished: 'DispatchPublished',
  settled: 'SlotSettled',
  consumptionPublished: 'ConsumptionPublished',
  emergencyDeclared: 'EmergencyDeclared',
} as const;

/** Chaincode events of the auction contract. */
export const WINDOW_EVENTS = {
  opened: 'WindowOpened',
  committed: 'OrdersCommitted',
  revealed: 'OrdersRevealed',
  cleared: 'WindowCleared',
  delivery: 'DeliveryReported',
  reportsClosed: 'DeliveryReportsClosed',
  settled: 'WindowSettled',
  gridClaimed: 'GridShareClaimed',
} as const;

/** Chaincode events of the demand-response contract. */
export const DR_EVENTS = {
  declared: 'DrEventDeclared',
  rewardsPaid: 'DrRewardsPaid',
} as const;

export type SlotEventName = (typeof SLOT_EVENTS)[keyof typeof SLOT_EVENTS];
export type WindowEventName = (typeof WINDOW_EVENTS)[keyof typeof WINDOW_EVENTS];
export type ChaincodeEventName = SlotEventName | WindowEventName;

/** The private data collection of a utility: its homes' forecasts, reports and orders. */
export function collectionOf(mspId: string): string {
  return `${mspId}PrivateCollection`;
}
