import {
  chaincodeRefusal,
  type Device,
  devicesOf,
  evaluateJson,
  type FabricConnection,
  signForecast,
} from '@hems/network-client';
import { common } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { Actors, UTILITIES, UTILITY_A, forecastFor, sumKw, uniqueSlotId } from './support/actors';
import { network } from './support/network';

interface Aggregate {
  homes: number;
  lower?: number;
  upper?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Submits a device's forecast like a relay that retries on transport failures. The signed payload
 * is kept across attempts, so if an attempt did commit, the retry is refused as a replay (its
 * nonce is used): the forecast can be neither lost nor doubled.
 */
async function submitWithRetry(
  actors: Actors,
  device: Device,
  slotId: string,
  lower: number,
  upper: number,
): Promise<void> {
  const signed = signForecast(device, slotId, lower, upper);
  for (let attempt = 1; ; attempt += 1) {
    try {
      await actors.submitSigned(device, slotId, signed);
      return;
    } catch (error) {
      const refusal = chaincodeRefusal(error);
      if (refusal?.code === 'CONFLICT' && refusal.message.includes('nonce') && attempt > 1) {
        return;
      }
      if (refusal !== undefined || attempt >= 8) {
        throw error;
      }
      await sleep(1_000 * attempt);
    }
  }
}

async function raftLeader(actors: Actors): Promise<string> {
  for (const orderer of actors.description.orderers) {
    const metrics = await fetch(`http://${orderer.operationsEndpoint}/metrics`).then((r) => r.text());
    if (metrics.includes(`consensus_etcdraft_is_leader{channel="${actors.description.channel}"} 1`)) {
      return orderer.name;
    }
  }
  throw new Error('no Raft leader');
}

async function height(connection: FabricConnection, channel: string): Promise<number> {
  const info = await connection.network.getContract('qscc').evaluateTransaction('GetChainInfo', channel);
  return common.BlockchainInfo.deserializeBinary(info).getHeight();
}

describe('faults on the real network', () => {
  let actors: Actors;
  // bus-1 devices of both utilities; the device revoked by the refusal suite is on bus-2.
  let devices: Device[];

  before(() => {
    actors = new Actors();
    devices = UTILITIES.flatMap((mspId) => devicesOf(actors.description, mspId)).filter(
      (d) => d.bus === 'bus-1',
    );
  });

  after(() => actors.close());

  it('the Raft leader stops mid-run: transactions keep committing, nothing is lost or doubled', async () => {
    const slotId = uniqueSlotId('orderer-fault');
    await actors.openSlot(slotId, 300_000);
    const ranges = devices.map((_, index) => forecastFor(index + 201));
    const half = Math.floor(devices.length / 2);
    await Promise.all(
      devices.slice(0, half).map((d, i) => submitWithRetry(actors, d, slotId, ...(ranges[i] ?? [0, 0]))),
    );

    const leader = await raftLeader(actors);
    await network('stop-node', leader);
    try {
      await Promise.all(
        devices
          .slice(half)
          .map((d, i) => submitWithRetry(actors, d, slotId, ...(ranges[half + i] ?? [0, 0]))),
      );
      for (const mspId of UTILITIES) {
        await actors.publishAggregate(mspId, slotId, 'bus-1');
      }
    } finally {
      await network('start-node', leader);
    }

    for (const mspId of UTILITIES) {
      const mine = devices
        .map((d, i) => ({ d, range: ranges[i] ?? [0, 0] }))
        .filter(({ d }) => d.mspId === mspId);
      const { aggregates } = await evaluateJson<{ aggregates: (Aggregate & { org: string; bus: string })[] }>(
        actors.dso.contract(),
        'GetSlot',
        [slotId],
      );
      const aggregate = aggregates.find((agg) => agg.org === mspId && agg.bus === 'bus-1');
      expect(aggregate?.homes).to.equal(mine.length);
      expect(aggregate?.lower).to.equal(sumKw(mine.map(({ range }) => range[0])));
      expect(aggregate?.upper).to.equal(sumKw(mine.map(({ range }) => range[1])));
    }
  });

  it("a utility's peer restarts: its ledger and private data are intact and it catches up", async () => {
    const before = uniqueSlotId('peer-fault-before');
    await actors.openSlot(before, 300_000);
    const mine = devices.filter((d) => d.mspId === UTILITY_A);
    const ranges = mine.map((_, index) => forecastFor(index + 301));
    await Promise.all(mine.map((d, i) => actors.submitForecast(d, before, ...(ranges[i] ?? [0, 0]))));

    await network('stop-node', 'peer0.utilitya');
    let during: string;
    try {
      // The channel goes on without UtilityA: the DSO opens the next slot (3 of 4 orgs endorse).
      during = uniqueSlotId('peer-fault-during');
      await actors.openSlot(during, 300_000);
    } finally {
      await network('start-node', 'peer0.utilitya');
    }

    const target = await height(actors.dso, actors.description.channel);
    const relayA = actors.relay(UTILITY_A);
    for (
      let waited = 0;
      (await height(relayA, actors.description.channel).catch(() => 0)) < target;
      waited += 500
    ) {
      expect(waited, 'peer0.utilitya did not catch up within 60 s').to.be.below(60_000);
      await sleep(500);
    }
    // It learned of the slot opened while it was down...
    const caughtUp = await evaluateJson<{ slotId: string }>(relayA.contract(), 'GetSlot', [during]);
    expect(caughtUp.slotId).to.equal(during);
    // ...and still holds every forecast submitted before: its aggregate sums them all.
    await actors.publishAggregate(UTILITY_A, before, 'bus-1');
    const { aggregates } = await evaluateJson<{ aggregates: (Aggregate & { org: string; bus: string })[] }>(
      actors.auditor.contract(),
      'GetSlot',
      [before],
    );
    const aggregate = aggregates.find((agg) => agg.org === UTILITY_A && agg.bus === 'bus-1');
    expect(aggregate?.homes).to.equal(mine.length);
    expect(aggregate?.lower).to.equal(sumKw(ranges.map((range) => range[0])));
    // New forecasts go through the restarted peer.
    const first = mine[0];
    if (first !== undefined) {
      await actors.submitForecast(first, during, 1, 2);
    }
  });
});
