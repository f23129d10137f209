import { normalizeSerial } from '@hems/protocol';
import { governance } from '../ledger/contracts';
import type { RevocationSource } from '../identity/trust-store';
import type { Ledger, ServiceIdentity } from '../ledger/ports';

export interface ChaincodeRevocationsOptions {
  readonly ledger: Ledger;
  /** The identity that reads (any channel member may); defaults to the gateway's first. */
  readonly identity?: ServiceIdentity;
  /** Orgs whose lists to keep; default: the utilities named in governance:GetSettings. */
  readonly mspIds?: readonly string[];
  /** Refresh period; default 30 s. */
  readonly intervalMs?: number;
  /** Told about failed refreshes (the last good lists stay in force). */
  readonly onError?: (error: unknown) => void;
}

export interface RevocationsStatus {
  /** Time of the last complete refresh, if any. */
  readonly refreshedAt?: Date;
  /** Message of the last failed refresh, cleared by a successful one. */
  readonly lastError?: string;
  /** Revoked serials per org. */
  readonly counts: Readonly<Record<string, number>>;
}

const utf8 = new TextDecoder();

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch {
    throw new Error(`${what}: the chaincode answered something that is not JSON`);
  }
}

function utilitiesOf(settings: unknown): string[] {
  const list = (settings as { utilityMspIds?: unknown } | null)?.utilityMspIds;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw new Error('governance:GetSettings: the answer lists no utilityMspIds');
  }
  return list;
}

function serialsOf(record: unknown, mspId: string): Set<string> {
  const revoked = (record as { revoked?: unknown } | null)?.revoked;
  if (!Array.isArray(revoked)) {
    throw new Error(`governance:GetRevocations(${mspId}): the answer has no revoked list`);
  }
  const serials = new Set<string>();
  for (const entry of revoked) {
    const serial = (entry as { serial?: unknown } | null)?.serial;
    if (typeof serial !== 'string') {
      throw new Error(`governance:GetRevocations(${mspId}): an entry has no serial`);
    }
    serials.add(normalizeSerial(serial));
  }
  return serials;
}

/**
 * The chaincode's revocation lists (one per utility, governance:GetRevocations) as the gateway's
 * RevocationSource: refreshed every intervalMs and on demand, answered synchronously from memory.
 * A refresh replaces all lists at once, and only when every org's list was read; a failed one
 * keeps the previous lists (so a peer outage does not un-revoke anything) and is reported through
 * onError and status().
 */
export class ChaincodeRevocations implements RevocationSource {
  private lists = new Map<string, ReadonlySet<string>>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private refreshedAt: Date | undefined;
  private lastError: string | undefined;

  constructor(private readonly options: ChaincodeRevocationsOptions) {}

  isRevoked(mspId: string, serial: string): boolean {
    const list = this.lists.get(mspId);
    if (list === undefined) {
      return false;
    }
    let normalized: string;
    try {
      normalized = normalizeSerial(serial);
    } catch {
      return false;
    }
    return list.has(normalized);
  }

  /** Reads every list now; concurrent calls share one read. Rejects when the read failed. */
  refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** First refresh (its failure is reported, not thrown), then one every intervalMs. */
  async start(): Promise<void> {
    if (this.timer !== undefined) {
      return;
    }
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, this.options.intervalMs ?? 30_000);
    this.timer.unref();
    await this.refresh().catch(() => undefined);
  }

  stop(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  status(): RevocationsStatus {
    return {
      ...(this.refreshedAt === undefined ? {} : { refreshedAt: this.refreshedAt }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      counts: Object.fromEntries([...this.lists].map(([mspId, list]) => [mspId, list.size])),
    };
  }

  private async load(): Promise<void> {
    try {
      const { ledger } = this.options;
      const identity = this.options.identity ?? ledger.identities[0];
      if (identity === undefined) {
        throw new Error('the gateway holds no Fabric identity to read revocations with');
      }
      const contract = governance(ledger, identity);
      const mspIds =
        this.options.mspIds ?? utilitiesOf(parseJson(await contract.GetSettings.evaluate(), 'GetSettings'));
      const lists = new Map<string, ReadonlySet<string>>();
      for (const mspId of new Set(mspIds)) {
        const answer = await contract.GetRevocations.evaluate({ arguments: [mspId] });
        lists.set(mspId, serialsOf(parseJson(answer, `GetRevocations(${mspId})`), mspId));
      }
      this.lists = lists;
      this.refreshedAt = new Date();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.options.onError?.(error);
      throw error;
    }
  }
}
