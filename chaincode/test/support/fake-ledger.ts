import { createHash } from 'node:crypto';
import * as sinon from 'sinon';
import { ChaincodeStub, ClientIdentity, KeyEndorsementPolicy } from 'fabric-shim';
import type { Iterators } from 'fabric-shim-api';
import { HemsContext } from '../../src/lib/context';

/** Who submits a proposal in a test. */
export interface TestIdentity {
  readonly mspId: string;
  readonly role?: string;
  /** NodeOU admin in the certificate subject. */
  readonly nodeOuAdmin?: boolean;
  readonly name?: string;
}

export const identities = {
  dso: (): TestIdentity => ({ mspId: 'DSOMSP', role: 'dso', name: 'operator1' }),
  market: (): TestIdentity => ({ mspId: 'DSOMSP', role: 'market', name: 'market1' }),
  /** A device certificate used directly as a Fabric client identity. */
  device: (mspId = 'UtilityAMSP'): TestIdentity => ({ mspId, role: 'hems', name: 'home-1' }),
  relay: (mspId = 'UtilityAMSP'): TestIdentity => ({ mspId, role: 'relay', name: 'relay' }),
  meter: (mspId = 'UtilityAMSP'): TestIdentity => ({ mspId, role: 'meter', name: 'meter' }),
  admin: (mspId = 'UtilityAMSP'): TestIdentity => ({
    mspId,
    role: 'admin',
    nodeOuAdmin: true,
    name: 'Admin',
  }),
  /** A NodeOU admin subject without hems.role=admin, as a crafted CSR subject could produce. */
  ouOnlyAdmin: (mspId = 'UtilityAMSP'): TestIdentity => ({ mspId, nodeOuAdmin: true, name: 'x/OU=admin' }),
  auditor: (): TestIdentity => ({ mspId: 'RegulatorMSP', role: 'auditor', name: 'auditor1' }),
  outsider: (): TestIdentity => ({ mspId: 'MalloryMSP', role: 'dso', name: 'mallory' }),
} as const;

/** A transaction as a test runs it: a contract method called with the context the ledger builds. */
export type TransactionFn = (ctx: HemsContext) => Promise<string>;

export interface InvokeOptions {
  /** MSP of the endorsing peer; defaults to the caller's MSP. */
  readonly peer?: string;
  readonly transient?: Record<string, Uint8Array | string>;
  /** Transaction timestamp; defaults to the ledger's clock. */
  readonly at?: Date;
  /** The endorsing peer's own clock (HemsContext.peerClock); by default the transaction time. */
  readonly peerClock?: Date;
  /**
   * How the client has the transaction endorsed. 'single': by the executing peer alone (what a
   * gateway does for a transaction that reads the org's private data; the default for any
   * transaction that touched private data). 'majority': under the chaincode's MAJORITY policy,
   * by the executing peer plus `endorsers` (the default otherwise).
   */
  readonly endorsement?: Endorsement;
  /** Orgs whose peers endorse a majority transaction besides the executing peer. */
  readonly endorsers?: readonly string[];
}

export type Endorsement = 'single' | 'majority';

/** A transaction executed and endorsed, not yet committed (see FakeLedger.endorse). */
export interface EndorsedTransaction {
  readonly txId: string;
  readonly response: string;
  /** Validates and commits it against the state committed by then; refusals reject. */
  commit(): Promise<string>;
}

/** Everything a channel member outside the home's utility could see of one committed transaction. */
export interface CommittedTransaction {
  readonly txId: string;
  readonly creator: string;
  readonly creatorRole: string | undefined;
  readonly endorser: string;
  readonly endorsement: Endorsement;
  /** Orgs known to have endorsed: the executing peer's, plus the ones the test stated. */
  readonly endorsers: readonly string[];
  readonly publicWrites: readonly { key: string; value: string }[];
  /** Public keys and ranges read: their names travel in the block's read set. */
  readonly publicReads: readonly string[];
  /** Private keys read, as the hashed read set on the shared ledger shows them: SHA-256 of each key. */
  readonly privateReadHashes: readonly { collection: string; keyHash: string }[];
  /** Fabric puts SHA-256 of private keys and values on the shared ledger. */
  readonly privateWriteHashes: readonly { collection: string; keyHash: string; valueHash: string }[];
  readonly privateKeys: readonly { collection: string; key: string }[];
  readonly events: readonly { name: string; payload: string }[];
  readonly response: string;
}

interface PendingWrites {
  readonly state: Map<string, Buffer | null>;
  readonly validation: Map<string, Buffer>;
  readonly privateData: Map<string, Map<string, Buffer | null>>;
  readonly events: { name: string; payload: string }[];
  readonly reads: string[];
  readonly privateReads: { collection: string; keyHash: string }[];
  /** Version of every public or private key the transaction read, when it read it (MVCC). */
  readonly readVersions: Map<string, number>;
  /** Fabric refuses writes after a private-data range query, and such a query after writes. */
  flags: { privateQuery: boolean; write: boolean; privateData: boolean };
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Owner org of a collection named `<MSP>PrivateCollection`. */
function collectionOwner(collection: string): string {
  return collection.replace(/PrivateCollection$/, '');
}

/**
 * An in-memory ledger behind sinon stubs of ChaincodeStub and ClientIdentity, with Fabric's
 * semantics where they matter to the contracts: a transaction reads committed state only (never
 * its own writes), its writes commit only if it succeeds, private data is readable and writable
 * only on a peer of the collection's member org, history and private-data hashes are kept, and
 * at most one event per transaction survives.
 *
 * Endorsement is modelled as Fabric validates it on a channel whose chaincode policy is MAJORITY:
 * each public key written (or whose key-level policy is set) is checked against its committed
 * key-level policy if it has one, else against the chaincode policy. A single-peer transaction
 * (anything that touched private data, unless the test says otherwise) satisfies a key-level policy
 * naming only its peer's org and never the majority; a majority transaction satisfies the chaincode
 * policy and a key-level policy only if every org it names is among the known endorsers. A
 * transaction that fails is refused at commit with ENDORSEMENT_POLICY_FAILURE and writes nothing.
 *
 * Commits are also checked like Fabric's MVCC validation: every public key read (getState) and
 * every private key read (getPrivateData, getPrivateDataHash: the hashed read set) must still be
 * at the version the transaction read, else it is refused with MVCC_READ_CONFLICT. `endorse` runs
 * a transaction without committing it, so a test can commit it after others (a transaction
 * endorsed before a deadline and ordered after another). Range queries are not checked for
 * phantoms.
 */
export class FakeLedger {
  readonly state = new Map<string, Buffer>();
  readonly validationParameters = new Map<string, Buffer>();
  readonly privateData = new Map<string, Map<string, Buffer>>();
  readonly history = new Map<string, Iterators.KeyModification[]>();
  readonly committed: CommittedTransaction[] = [];
  /** Error messages of failed transactions, for privacy checks. */
  readonly errors: string[] = [];
  now = new Date('2026-11-21T10:00:00.000Z');
  private txCounter = 0;
  /** Committed version of each public key and of each private key (`collection` NUL `key`). */
  private readonly versions = new Map<string, number>();

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }

  /** The committed transaction at `index` (negative: from the end); a test error when there is none. */
  committedAt(index: number): CommittedTransaction {
    const tx = this.committed.at(index);
    if (tx === undefined) {
      throw new Error(`no committed transaction at ${index} (${this.committed.length} committed)`);
    }
    return tx;
  }

  /** The committed transactions that wrote a private key of `keyType` (e.g. hems.order). */
  committedWithPrivateKey(keyType: string): CommittedTransaction[] {
    return this.committed.filter((tx) => tx.privateKeys.some((entry) => entry.key.includes(keyType)));
  }

  /**
   * Everything a channel member outside a home's utility gets to see, as one text: public writes
   * and their keys, read-set key names, events, submitted transactions' responses, private-data
   * hashes, and every error text.
   */
  publicSurface(): string {
    return JSON.stringify({
      committed: this.committed.map((tx) => ({
        writes: tx.publicWrites,
        reads: tx.publicReads,
        events: tx.events,
        response: tx.response,
        hashes: tx.privateWriteHashes,
      })),
      errors: this.errors,
    });
  }

  /** The transaction committed last: what the test step before committed. */
  lastCommitted(): CommittedTransaction {
    return this.committedAt(-1);
  }

  /** Runs one transaction and commits it at once; its writes commit only when `fn` resolves. */
  async invoke(identity: TestIdentity, fn: TransactionFn, options: InvokeOptions = {}): Promise<string> {
    return (await this.endorse(identity, fn, options)).commit();
  }

  /**
   * Executes and endorses one transaction without committing it: `commit()` later validates it
   * (endorsement policies, then read versions) against the state committed by then.
   */
  async endorse(
    identity: TestIdentity,
    fn: TransactionFn,
    options: InvokeOptions = {},
  ): Promise<EndorsedTransaction> {
    this.txCounter += 1;
    const txId = sha256(`tx-${this.txCounter}`);
    const at = options.at ?? this.now;
    const peer = options.peer ?? identity.mspId;
    const pending = newPending();
    const ctx = this.context(identity, txId, at, peer, options.transient ?? {}, pending);
    const peerNow = options.peerClock ?? at;
    ctx.peerClock = () => new Date(peerNow);
    let response: string;
    try {
      response = await fn(ctx);
    } catch (error) {
      this.errors.push(error instanceof Error ? error.message : String(error));
      throw error;
    }
    const endorsement = options.endorsement ?? (pending.flags.privateData ? 'single' : 'majority');
    const endorsers = endorsement === 'single' ? [peer] : [...new Set([peer, ...(options.endorsers ?? [])])];
    let done = false;
    const commit = (): Promise<string> => {
      if (done) {
        return Promise.reject(new Error('the transaction was already submitted for commit'));
      }
      done = true;
      try {
        this.checkEndorsement(endorsement, endorsers, pending);
        this.checkReadVersions(pending);
      } catch (error) {
        const refusal = error as Error;
        this.errors.push(refusal.message);
        return Promise.reject(refusal);
      }
      this.commit(identity, txId, at, { peer, endorsement, endorsers }, pending, response);
      return Promise.resolve(response);
    };
    return { txId, response, commit };
  }

  /** `invoke`, its response parsed as the JSON a test expects. */
  /**
   * What a member running modified chaincode can do: `write` runs on `org`'s own peer, as its
   * relay, endorsed by that peer alone, and commits wherever Fabric's validation lets it.
   */
  async writeAlone(org: string, write: (ctx: HemsContext) => Promise<unknown>): Promise<void> {
    await this.invoke(
      { mspId: org, role: 'relay', name: 'relay' },
      async (ctx) => {
        await write(ctx);
        return '';
      },
      { peer: org, endorsement: 'single' },
    );
  }

  /** writeAlone of a JSON record: `edit` of what is stored under the key (keyOf(ctx)). */
  async rewriteAlone(
    org: string,
    keyOf: (ctx: HemsContext) => string,
    edit: (stored: Record<string, unknown>) => unknown,
  ): Promise<void> {
    await this.writeAlone(org, async (ctx) => {
      const key = keyOf(ctx);
      const stored = JSON.parse(Buffer.from(await ctx.stub.getState(key)).toString('utf8')) as Record<
        string,
        unknown
      >;
      await ctx.stub.putState(key, Buffer.from(JSON.stringify(edit(stored))));
    });
  }

  async invokeJson<T>(identity: TestIdentity, fn: TransactionFn, options: InvokeOptions = {}): Promise<T> {
    return JSON.parse(await this.invoke(identity, fn, options)) as T;
  }

  /** `evaluate`, its response parsed as the JSON a test expects. */
  async evaluateJson<T>(identity: TestIdentity, fn: TransactionFn, options: InvokeOptions = {}): Promise<T> {
    return JSON.parse(await this.evaluate(identity, fn, options)) as T;
  }

  /** Runs a read-only evaluation: like invoke, but anything it wrote is discarded. */
  async evaluate(identity: TestIdentity, fn: TransactionFn, options: InvokeOptions = {}): Promise<string> {
    const pending = newPending();
    const ctx = this.context(
      identity,
      sha256('eval'),
      options.at ?? this.now,
      options.peer ?? identity.mspId,
      options.transient ?? {},
      pending,
    );
    const peerNow = options.peerClock ?? options.at ?? this.now;
    ctx.peerClock = () => new Date(peerNow);
    try {
      const result = await fn(ctx);
      if (pending.state.size > 0 || pending.privateData.size > 0) {
        throw new Error('an evaluate-only transaction wrote state');
      }
      return result;
    } catch (error) {
      this.errors.push(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  collection(name: string): Map<string, Buffer> {
    let map = this.privateData.get(name);
    if (map === undefined) {
      map = new Map();
      this.privateData.set(name, map);
    }
    return map;
  }

  /** The orgs a committed key-level policy names, or undefined when the key has none. */
  keyPolicyOrgs(key: string): string[] | undefined {
    const policy = this.validationParameters.get(key);
    return policy === undefined ? undefined : new KeyEndorsementPolicy(policy).listOrgs().sort();
  }

  private checkReadVersions(pending: PendingWrites): void {
    for (const [key, version] of pending.readVersions) {
      if ((this.versions.get(key) ?? 0) !== version) {
        throw new Error(
          `MVCC_READ_CONFLICT: ${key.split('\u0000').join('/')} changed after the transaction read it`,
        );
      }
    }
  }

  private bump(key: string): void {
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
  }

  private checkEndorsement(
    endorsement: Endorsement,
    endorsers: readonly string[],
    pending: PendingWrites,
  ): void {
    const keys = [...new Set([...pending.state.keys(), ...pending.validation.keys()])].sort();
    for (const key of keys) {
      const orgs = this.keyPolicyOrgs(key);
      const readable = key.split('\u0000').join('/');
      if (orgs === undefined) {
        if (endorsement === 'single') {
          throw new Error(
            `ENDORSEMENT_POLICY_FAILURE: ${readable} has no key-level policy, so the chaincode's majority policy applies, and only the peer of ${endorsers[0]} endorsed`,
          );
        }
      } else if (!orgs.every((org) => endorsers.includes(org))) {
        throw new Error(
          `ENDORSEMENT_POLICY_FAILURE: ${readable} needs the peers of ${orgs.join(', ')}; endorsed by ${endorsers.join(', ')}`,
        );
      }
    }
  }

  private commit(
    identity: TestIdentity,
    txId: string,
    at: Date,
    endorsed: { peer: string; endorsement: Endorsement; endorsers: readonly string[] },
    pending: PendingWrites,
    response: string,
  ): void {
    const { peer, endorsement, endorsers } = endorsed;
    const timestamp = { seconds: Math.floor(at.getTime() / 1000), nanos: (at.getTime() % 1000) * 1e6 };
    const publicWrites: { key: string; value: string }[] = [];
    for (const [key, value] of pending.state) {
      this.bump(key);
      if (value === null) {
        this.state.delete(key);
      } else {
        this.state.set(key, value);
      }
      publicWrites.push({ key, value: value?.toString('utf8') ?? '' });
      const entries = this.history.get(key) ?? [];
      entries.push({
        txId,
        timestamp: timestamp as unknown as Iterators.KeyModification['timestamp'],
        isDelete: value === null,
        value: value ?? Buffer.alloc(0),
      });
      this.history.set(key, entries);
    }
    for (const [key, value] of pending.validation) {
      this.validationParameters.set(key, value);
    }
    const privateWriteHashes: CommittedTransaction['privateWriteHashes'][number][] = [];
    const privateKeys: { collection: string; key: string }[] = [];
    for (const [collection, writes] of pending.privateData) {
      for (const [key, value] of writes) {
        this.bump(privateVersionKey(collection, key));
        if (value === null) {
          this.collection(collection).delete(key);
        } else {
          this.collection(collection).set(key, value);
        }
        privateKeys.push({ collection, key });
        privateWriteHashes.push({
          collection,
          keyHash: sha256(key),
          valueHash: value === null ? '' : sha256(value),
        });
      }
    }
    this.committed.push({
      txId,
      creator: identity.mspId,
      creatorRole: identity.role,
      endorser: peer,
      endorsement,
      endorsers,
      publicWrites,
      publicReads: pending.reads,
      privateReadHashes: pending.privateReads,
      privateWriteHashes,
      privateKeys,
      // Fabric keeps only the last event a transaction sets.
      events: pending.events.slice(-1),
      response,
    });
  }

  private context(
    identity: TestIdentity,
    txId: string,
    at: Date,
    peer: string,
    transient: Record<string, Uint8Array | string>,
    pending: PendingWrites,
  ): HemsContext {
    const stub = sinon.createStubInstance(ChaincodeStub);
    const real = ChaincodeStub.prototype;
    stub.createCompositeKey.callsFake((type: string, attrs: string[]) =>
      real.createCompositeKey.call(stub, type, attrs),
    );
    stub.splitCompositeKey.callsFake((key: string) => real.splitCompositeKey.call(stub, key));
    stub.getTxID.returns(txId);
    stub.getChannelID.returns('hems');
    stub.getMspID.returns(peer);
    stub.getDateTimestamp.returns(new Date(at));
    stub.getTxTimestamp.returns({
      seconds: { toString: () => String(Math.floor(at.getTime() / 1000)) },
      nanos: (at.getTime() % 1000) * 1e6,
    } as unknown as ReturnType<ChaincodeStub['getTxTimestamp']>);
    stub.getTransient.returns(
      new Map(
        Object.entries(transient).map(([key, value]) => [
          key,
          typeof value === 'string' ? Buffer.from(value) : Buffer.from(value),
        ]),
      ),
    );

    const beforeWrite = (): void => {
      if (pending.flags.privateQuery) {
        throw new Error('Transaction has already performed queries on pvt data. Writes are not allowed');
      }
      pending.flags.write = true;
    };
    const readVersion = (key: string): void => {
      if (!pending.readVersions.has(key)) {
        pending.readVersions.set(key, this.versions.get(key) ?? 0);
      }
    };
    stub.getState.callsFake((key: string) => {
      pending.reads.push(key);
      readVersion(key);
      return Promise.resolve(this.state.get(key) ?? Buffer.alloc(0));
    });
    stub.putState.callsFake((key: string, value: Uint8Array) => {
      if (key === '' || !(value instanceof Uint8Array)) {
        return Promise.reject(new Error('putState needs a key and bytes'));
      }
      beforeWrite();
      pending.state.set(key, Buffer.from(value));
      return Promise.resolve();
    });
    stub.deleteState.callsFake((key: string) => {
      beforeWrite();
      pending.state.set(key, null);
      return Promise.resolve();
    });
    stub.setStateValidationParameter.callsFake((key: string, ep: Uint8Array) => {
      beforeWrite();
      pending.validation.set(key, Buffer.from(ep));
      return Promise.resolve();
    });
    stub.getStateValidationParameter.callsFake((key: string) =>
      Promise.resolve(this.validationParameters.get(key) ?? Buffer.alloc(0)),
    );
    stub.getStateByPartialCompositeKey.callsFake((type: string, attrs: string[]) => {
      const prefix = real.createCompositeKey.call(stub, type, attrs);
      pending.reads.push(`range:${prefix}`);
      return iterator(sortedEntries(this.state, prefix)) as unknown as ReturnType<
        ChaincodeStub['getStateByPartialCompositeKey']
      >;
    });
    stub.getStateByPartialCompositeKeyWithPagination.callsFake(
      (type: string, attrs: string[], pageSize: number, bookmark?: string) => {
        const prefix = real.createCompositeKey.call(stub, type, attrs);
        const all = sortedEntries(this.state, prefix).filter(([key]) => !bookmark || key > bookmark);
        const page = all.slice(0, pageSize);
        const next = all.length > pageSize ? (page[page.length - 1]?.[0] ?? '') : '';
        // As fabric-shim answers an empty page: the peer sends no metadata, so there is none.
        return Promise.resolve({
          iterator: makeIterator(page),
          metadata: page.length === 0 ? undefined : { fetchedRecordsCount: page.length, bookmark: next },
        }) as unknown as ReturnType<ChaincodeStub['getStateByPartialCompositeKeyWithPagination']>;
      },
    );
    stub.getHistoryForKey.callsFake((key: string) => {
      const versions = [...(this.history.get(key) ?? [])].map((entry) => ['', entry] as const);
      return queryResult(makeIterator(versions, true), false) as unknown as ReturnType<
        ChaincodeStub['getHistoryForKey']
      >;
    });
    stub.setEvent.callsFake((name: string, payload: Uint8Array) => {
      pending.events.push({ name, payload: Buffer.from(payload).toString('utf8') });
    });

    const requireMember = (collection: string, action: string): void => {
      // Only the collection's member peer can serve this: the transaction is single-peer.
      pending.flags.privateData = true;
      if (collectionOwner(collection) !== peer) {
        throw new Error(`peer of ${peer} is not a member of collection ${collection}; cannot ${action}`);
      }
    };
    stub.getPrivateData.callsFake((collection: string, key: string) => {
      requireMember(collection, 'read');
      readVersion(privateVersionKey(collection, key));
      pending.privateReads.push({ collection, keyHash: sha256(key) });
      return Promise.resolve(this.collection(collection).get(key) ?? Buffer.alloc(0));
    });
    stub.getPrivateDataHash.callsFake((collection: string, key: string) => {
      readVersion(privateVersionKey(collection, key));
      const value = this.collection(collection).get(key);
      return Promise.resolve(
        value === undefined ? Buffer.alloc(0) : createHash('sha256').update(value).digest(),
      );
    });
    stub.putPrivateData.callsFake((collection: string, key: string, value: Uint8Array) => {
      requireMember(collection, 'write');
      beforeWrite();
      const writes = pending.privateData.get(collection) ?? new Map<string, Buffer | null>();
      writes.set(key, Buffer.from(value));
      pending.privateData.set(collection, writes);
      return Promise.resolve();
    });
    // Deleting and purging both remove the value; only the hashes stay in the blocks.
    const removePrivate = (action: string) => (collection: string, key: string) => {
      requireMember(collection, action);
      beforeWrite();
      const writes = pending.privateData.get(collection) ?? new Map<string, Buffer | null>();
      writes.set(key, null);
      pending.privateData.set(collection, writes);
      return Promise.resolve();
    };
    stub.deletePrivateData.callsFake(removePrivate('delete'));
    stub.purgePrivateData.callsFake(removePrivate('purge'));
    stub.getPrivateDataByPartialCompositeKey.callsFake(
      (collection: string, type: string, attrs: string[]) => {
        requireMember(collection, 'query');
        if (pending.flags.write) {
          throw new Error('Queries on pvt data is supported only in a read-only transaction');
        }
        pending.flags.privateQuery = true;
        const prefix = real.createCompositeKey.call(stub, type, attrs);
        return iterator(sortedEntries(this.collection(collection), prefix), true) as unknown as ReturnType<
          ChaincodeStub['getPrivateDataByPartialCompositeKey']
        >;
      },
    );

    const clientIdentity = sinon.createStubInstance(ClientIdentity);
    clientIdentity.getMSPID.returns(identity.mspId);
    clientIdentity.getAttributeValue.callsFake((name: string) =>
      name === 'hems.role' ? (identity.role ?? null) : null,
    );
    const ou = identity.nodeOuAdmin ? 'admin' : 'client';
    clientIdentity.getID.returns(
      `x509::/C=US/O=${identity.mspId}/OU=${ou}/CN=${identity.name ?? 'user'}::/C=US/O=${identity.mspId}/CN=ca.${identity.mspId}`,
    );

    const ctx = new HemsContext();
    ctx.stub = stub;
    ctx.clientIdentity = clientIdentity;
    return ctx;
  }
}

function newPending(): PendingWrites {
  return {
    state: new Map(),
    validation: new Map(),
    privateData: new Map(),
    events: [],
    reads: [],
    privateReads: [],
    readVersions: new Map(),
    flags: { privateQuery: false, write: false, privateData: false },
  };
}

function privateVersionKey(collection: string, key: string): string {
  return `private\u0000${collection}\u0000${key}`;
}

function sortedEntries(map: Map<string, Buffer>, prefix: string): [string, Buffer][] {
  return [...map.entries()]
    .filter(([key]) => key.startsWith(prefix))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function makeIterator<T>(
  entries: readonly (readonly [string, T])[],
  history = false,
): Iterators.CommonIterator<unknown> {
  let index = 0;
  let closed = false;
  return {
    next: () => {
      if (closed) {
        return Promise.reject(new Error('iterator used after close'));
      }
      const entry = entries[index];
      index += 1;
      if (entry === undefined) {
        return Promise.resolve({ done: true, value: undefined });
      }
      return Promise.resolve({
        done: false,
        value: history ? entry[1] : { namespace: 'hems', key: entry[0], value: entry[1] },
      });
    },
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * Like fabric-shim's query results: a promise that is also an async iterable. As in the shim,
 * public ranges and history resolve to the iterator itself, private ranges to `{iterator}`.
 */
function queryResult(
  iterator: Iterators.CommonIterator<unknown>,
  wrapped: boolean,
): Promise<unknown> & AsyncIterable<unknown> {
  const promise = Promise.resolve(wrapped ? { iterator } : iterator) as Promise<unknown> &
    AsyncIterable<unknown>;
  promise[Symbol.asyncIterator] = () => ({
    next: async () => {
      const next = await iterator.next();
      if (next.done) {
        await iterator.close();
      }
      return next as IteratorResult<unknown>;
    },
    return: async () => {
      await iterator.close();
      return { done: true, value: undefined };
    },
  });
  return promise;
}

function iterator(entries: [string, Buffer][], wrapped = false): Promise<unknown> & AsyncIterable<unknown> {
  return queryResult(makeIterator(entries), wrapped);
}
