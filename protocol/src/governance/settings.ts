import { parseStoredJson } from '../json/canonical-json';
import { invalidArgument } from '../errors';
import { MAX_PRICE } from '../limits';
import {
  parseMspId,
  requireArray,
  requireDecimalPlaces,
  requireFiniteNumber,
  requireInteger,
  requireObject,
  requireOnlyKeys,
} from '../validation';

/**
 * Channel-wide settings. They protect homes (k, per-home maximum, retention) and name which MSP
 * plays which part, so a change is a governance act: it takes effect only once a majority of the
 * member organizations has approved it (see GovernanceContract), never on one org's say.
 */
export interface ChannelSettings {
  /** P3: an aggregate's sums are published only when at least this many homes contributed. */
  readonly minGroupSize: number;
  /** Upper bound of a single home's forecast, kW. */
  readonly maxHomeKw: number;
  /** P5: seconds after a slot's deadline after which its private forecasts may be purged. */
  readonly retentionSeconds: number;
  readonly dsoMspIds: readonly string[];
  readonly utilityMspIds: readonly string[];
  readonly auditorMspIds: readonly string[];
  /**
   * Utilities whose relays may submit relay-attested items (forecasts and consumption reports of
   * OpenADR VENs, which hold no Fabric key): the relay vouches for them instead of the device's
   * signature. Empty by default; only a majority of the members can let a utility do so.
   */
  readonly relayAttestationMspIds: readonly string[];
  /**
   * Tokens a utility's meter head-end mints per MWh a home exported (MintForProduction, REScoin),
   * in currency per MWh with at most 4 decimals; 0 disables minting. New tokens dilute everyone's,
   * so only a majority of the members can set the rate.
   */
  readonly productionTokenRate: number;
  /** Incremented on every applied change; 0 is the built-in default. */
  readonly version: number;
}

export const DEFAULT_SETTINGS: ChannelSettings = {
  minGroupSize: 5,
  maxHomeKw: 50,
  retentionSeconds: 7 * 24 * 3600,
  dsoMspIds: ['DSOMSP'],
  utilityMspIds: ['UtilityAMSP', 'UtilityBMSP'],
  auditorMspIds: ['RegulatorMSP'],
  relayAttestationMspIds: [],
  // 0.05 per kWh exported.
  productionTokenRate: 50,
  version: 0,
};

export const SETTINGS_FIELDS = [
  'minGroupSize',
  'maxHomeKw',
  'retentionSeconds',
  'dsoMspIds',
  'utilityMspIds',
  'auditorMspIds',
  'relayAttestationMspIds',
  'productionTokenRate',
] as const;

export type SettingsChange = Partial<Omit<ChannelSettings, 'version'>>;

const MAX_ORGS_PER_ROLE = 32;

function parseMspList(value: unknown, name: string): string[] {
  const list = requireArray(value, name, MAX_ORGS_PER_ROLE).map((item, index) =>
    parseMspId(item, `${name}[${index}]`),
  );
  if (new Set(list).size !== list.length) {
    throw invalidArgument(`${name} lists an MSP id twice`);
  }
  return list;
}

/** Validates a proposed change (any subset of the settings fields). */
export function parseSettingsChange(value: unknown): SettingsChange {
  const record = requireObject(value, 'settings change');
  requireOnlyKeys(record, 'settings change', SETTINGS_FIELDS);
  if (Object.keys(record).length === 0) {
    throw invalidArgument('settings change must change at least one field');
  }
  const change: { -readonly [K in keyof SettingsChange]: SettingsChange[K] } = {};
  if (record.minGroupSize !== undefined) {
    change.minGroupSize = requireInteger(record.minGroupSize, 'minGroupSize', 1, 100000);
  }
  if (record.maxHomeKw !== undefined) {
    change.maxHomeKw = requireDecimalPlaces(
      requireFiniteNumber(record.maxHomeKw, 'maxHomeKw', 0.001, 10000),
      'maxHomeKw',
      3,
    );
  }
  if (record.retentionSeconds !== undefined) {
    change.retentionSeconds = requireInteger(
      record.retentionSeconds,
      'retentionSeconds',
      0,
      10 * 366 * 24 * 3600,
    );
  }
  if (record.productionTokenRate !== undefined) {
    change.productionTokenRate = requireDecimalPlaces(
      requireFiniteNumber(record.productionTokenRate, 'productionTokenRate', 0, MAX_PRICE),
      'productionTokenRate',
      4,
    );
  }
  for (const field of ['dsoMspIds', 'utilityMspIds', 'auditorMspIds', 'relayAttestationMspIds'] as const) {
    if (record[field] !== undefined) {
      change[field] = parseMspList(record[field], field);
    }
  }
  return change;
}

export function applySettingsChange(current: ChannelSettings, change: SettingsChange): ChannelSettings {
  const next: ChannelSettings = { ...current, ...change, version: current.version + 1 };
  if (next.dsoMspIds.length === 0 || next.utilityMspIds.length === 0) {
    throw invalidArgument('settings must name at least one DSO and one utility MSP');
  }
  const all = [...next.dsoMspIds, ...next.utilityMspIds, ...next.auditorMspIds];
  if (new Set(all).size !== all.length) {
    throw invalidArgument('an MSP may play only one part (DSO, utility or auditor)');
  }
  if (next.relayAttestationMspIds.some((org) => !next.utilityMspIds.includes(org))) {
    throw invalidArgument('only a utility MSP may submit relay-attested items');
  }
  return next;
}

export function settingsFromBytes(bytes: Uint8Array): ChannelSettings {
  const record = requireObject(parseStoredJson(bytes, 'settings'), 'stored settings');
  // Settings stored before a field existed hold its default.
  const change = parseSettingsChange(
    Object.fromEntries(
      SETTINGS_FIELDS.filter((field) => record[field] !== undefined).map((field) => [field, record[field]]),
    ),
  );
  return {
    ...DEFAULT_SETTINGS,
    ...change,
    version: requireInteger(record.version, 'version', 0, Number.MAX_SAFE_INTEGER),
  };
}

/** Every organization that takes part in governance. */
export function memberOrgs(settings: ChannelSettings): string[] {
  return [...settings.dsoMspIds, ...settings.utilityMspIds, ...settings.auditorMspIds];
}

/** A strict majority of member orgs: with two or more members no single org decides alone. */
export function approvalQuorum(settings: ChannelSettings): number {
  return Math.floor(memberOrgs(settings).length / 2) + 1;
}
