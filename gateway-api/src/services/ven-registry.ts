import { chaincodeRefusal } from '@hems/network-client';
import { HttpError, toHttpError } from '../http/errors';
import { decodeJson } from '../ledger/answers';
import { governance } from '../ledger/contracts';
import type { Ledger, ServiceIdentity } from '../ledger/ports';
import { VEN_CLIENT_ID, type VenSecretHash } from './ven-secrets';

/** A VEN as the chaincode stores it in the utility's own collection (governance GetVen). */
export interface VenRecord {
  readonly clientId: string;
  readonly venId: string;
  readonly venName: string;
  readonly homeId: string;
  readonly bus: string;
  /** The home's certificate (PEM) from the utility's CA, which the relay attaches to the VEN's items. */
  readonly certificate: string;
  readonly secret: VenSecretHash;
  readonly createdAt: string;
  /** Set once the VEN is revoked: its credentials no longer work. */
  readonly revokedAt?: string;
}

/** A VEN as ListVens lists it: no secret hash, no certificate. */
export type VenSummary = Omit<VenRecord, 'secret' | 'certificate'>;

/** What RegisterVen takes (transient `ven`); the chaincode adds the home and bus from the certificate. */
export interface VenRegistration {
  readonly clientId: string;
  readonly venId: string;
  readonly venName: string;
  readonly certificate: string;
  readonly secret: VenSecretHash;
}

export interface VenRegistryOptions {
  /** How long a found record, or a miss, is reused; default 5000 ms, 0 asks the peer every time. */
  readonly cacheMs?: number;
  /** Records and misses kept at most (the oldest go first); default 10000. */
  readonly maxEntries?: number;
  /** The clock, in ms; tests move it. */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly expiresAt: number;
  readonly record: Promise<VenRecord | undefined>;
}

const DEFAULT_CACHE_MS = 5000;
const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * The utility's OpenADR VENs, kept by the chaincode in the utility's own collection: every gateway
 * instance of the utility reads and writes the same records, and a restart loses none. Lookups by
 * client id (each token request and each bearer check of the VTN) are cached for a few seconds, and
 * concurrent lookups of one client id share one evaluation, so they cost no peer round trip each;
 * the price is that a VEN revoked through another gateway instance may still be found unrevoked
 * there for up to cacheMs. Everything goes to the utility's own peer (endorsingOrganizations), the
 * only one holding the collection. Chaincode refusals and Fabric failures come out as HttpErrors.
 */
export class VenRegistry {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly ledger: Ledger,
    options: VenRegistryOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  /**
   * The VEN of `clientId`, revoked ones included (with revokedAt); undefined when no VEN has it.
   * A client id of the wrong form is not asked about.
   */
  find(clientId: string): Promise<VenRecord | undefined> {
    if (!VEN_CLIENT_ID.test(clientId)) {
      return Promise.resolve(undefined);
    }
    const now = this.now();
    const cached = this.cache.get(clientId);
    if (cached !== undefined && cached.expiresAt > now) {
      return cached.record;
    }
    this.cache.delete(clientId);
    const record = this.load(clientId);
    if (this.cacheMs > 0) {
      this.cache.set(clientId, { expiresAt: now + this.cacheMs, record });
      // A failed read is not remembered: the next lookup asks again.
      record.catch(() => {
        if (this.cache.get(clientId)?.record === record) {
          this.cache.delete(clientId);
        }
      });
      while (this.cache.size > this.maxEntries) {
        this.cache.delete(this.cache.keys().next().value!);
      }
    }
    return record;
  }

  /** Registers a VEN (RegisterVen as the utility's admin); CONFLICT on a client id already in use. */
  async register(input: VenRegistration): Promise<{ registeredAt: string }> {
    const ven: VenRegistration = {
      clientId: input.clientId,
      venId: input.venId,
      venName: input.venName,
      certificate: input.certificate,
      secret: input.secret,
    };
    try {
      const submitted = await governance(this.ledger, 'admin').RegisterVen.submit({
        transientData: { ven: Buffer.from(JSON.stringify(ven), 'utf8') },
        endorsingOrganizations: [this.ledger.mspId],
      });
      return decodeJson<{ registeredAt: string }>(submitted.result);
    } catch (error) {
      throw toHttpError(error);
    } finally {
      // A miss remembered before the registration must not hide the new VEN.
      this.cache.delete(input.clientId);
    }
  }

  /** Revokes a VEN's credentials (RevokeVen as the admin); NOT_FOUND, or CONFLICT when already revoked. */
  async revoke(clientId: string): Promise<{ revokedAt: string }> {
    try {
      const submitted = await governance(this.ledger, 'admin').RevokeVen.submit({
        transientData: { clientId: Buffer.from(clientId, 'utf8') },
        endorsingOrganizations: [this.ledger.mspId],
      });
      return decodeJson<{ revokedAt: string }>(submitted.result);
    } catch (error) {
      throw toHttpError(error);
    } finally {
      // Whatever the outcome, the next lookup reads the record as it is now.
      this.cache.delete(clientId);
    }
  }

  /** Every VEN of the utility, revoked ones included, without secret hashes or certificates. */
  async list(): Promise<VenSummary[]> {
    try {
      const answer = await governance(this.ledger, this.reader()).ListVens.evaluate({
        endorsingOrganizations: [this.ledger.mspId],
      });
      return decodeJson<{ vens: VenSummary[] }>(answer).vens;
    } catch (error) {
      throw toHttpError(error);
    }
  }

  private async load(clientId: string): Promise<VenRecord | undefined> {
    let answer: Uint8Array;
    try {
      answer = await governance(this.ledger, this.reader()).GetVen.evaluate({
        transientData: { clientId: Buffer.from(clientId, 'utf8') },
        endorsingOrganizations: [this.ledger.mspId],
      });
    } catch (error) {
      if (chaincodeRefusal(error)?.code === 'NOT_FOUND') {
        return undefined;
      }
      throw toHttpError(error);
    }
    const record = decodeJson<VenRecord | null>(answer);
    if (record?.clientId !== clientId) {
      throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'the chaincode answered another VEN than asked for');
    }
    return record;
  }

  /** The relay reads VENs where the gateway holds it (the VTN's own identity), else the admin. */
  private reader(): ServiceIdentity {
    if (this.ledger.identities.includes('relay')) {
      return 'relay';
    }
    if (this.ledger.identities.includes('admin')) {
      return 'admin';
    }
    throw new HttpError(
      503,
      'UNAVAILABLE',
      'this gateway holds no relay or admin identity to read VENs with',
    );
  }
}
