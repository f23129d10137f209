import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  evaluateJson,
  type FabricConnection,
  loadNetworkDescription,
  type NetworkDescription,
} from '@hems/network-client';
import { canonicalJson, fabricAttributes, type SlotView } from '@hems/protocol';
import { type ApiResponse, callGateway, GatewayProcesses } from '@hems/testkit';
import { Actors, UTILITY_A, UTILITY_B, sumKw, uniqueSlotId } from './support/actors';
import { fetchBlocks, type FetchedBlock } from './support/blocks';
import { adminOf, sleep, useE2eGatewayPorts } from './support/gateways';
import { E2E_STATE_DIR } from './support/network';
import {
  BATCH_WAIT_MS,
  RESTART_BATCH_WAIT_MS,
  batchWait,
  BatchDevice,
  Submission,
  ErrorBody,
  Accepted,
  sampleDevice,
  enrolDevice,
  signFor,
  stored,
  postForecast,
  receiptOf,
  expectReceipt,
  expectAccepted,
  isReplay,
  expectRefused,
  eventually,
  expectBatchTransaction,
  prove,
  batchesOf,
  rangeFor,
} from './support/batched-devices';
import { secretsOf, decodeBatchTransaction, chainHeight, filesUnder } from './support/batch-privacy';

/*
 * The batched forecast path on the real network, through the REST gateways only: UtilityA's
 * gateway micro-batches its devices' signed forecasts into SubmitForecasts transactions
 * (gateway-api/src/services/forecast-batcher.ts). Its batches wait 1 s here (3 s for the restart
 * tests) so that concurrent devices share a batch; the gateways are this suite's own processes,
 * all stopped at its end, so later suites start theirs in the default configuration.
 */

useE2eGatewayPorts();

describe('batched forecasts through the REST gateways on the real network', () => {
  let description: NetworkDescription;
  let actors: Actors;
  const gateways = new GatewayProcesses(E2E_STATE_DIR);
  let devices: ReadonlyMap<string, BatchDevice>;
  /** A new device whose forecast carries a signature over other bytes. */
  let forger: BatchDevice;
  /** A new device revoked just before the batch. */
  let revoked: BatchDevice;
  /** Everything the devices sent in this suite, accepted or refused, and the batches committed. */
  const submissions: Submission[] = [];
  const batchTransactions = new Map<string, string>();

  const device = (name: string): BatchDevice => {
    const found = devices.get(name);
    if (found === undefined) {
      throw new Error(`no device ${name}`);
    }
    return found;
  };
  const signed = (...args: Parameters<typeof signFor>): Submission => {
    const submission = signFor(...args);
    submissions.push(submission);
    return submission;
  };
  const committed = (txId: string, slotId: string): string => {
    batchTransactions.set(txId, slotId);
    return txId;
  };

  before(async function () {
    this.timeout(120_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    actors = new Actors();
    devices = new Map(
      description.identities
        .filter((identity) => identity.mspId === UTILITY_A && identity.attributes['hems.role'] === 'hems')
        .map((identity) => [identity.name, sampleDevice(description, identity.name)]),
    );
    await gateways.start(description, ['DSOMSP', UTILITY_B, 'RegulatorMSP']);
    await gateways.start(description, [UTILITY_A], { env: batchWait(BATCH_WAIT_MS) });
    forger = await enrolDevice(description, 'batch-forger');
    revoked = await enrolDevice(description, 'batch-revoked');
  });

  after(async function () {
    this.timeout(60_000);
    await gateways.stop();
    actors?.close();
  });

  it('one batch of good and bad items: the good devices share one valid transaction, each bad one gets its own refusal, the aggregate counts the good homes only', async function () {
    this.timeout(150_000);
    // Revoked at the CA and on the ledger now: the gateway's revocation list refreshes every
    // 30 s, so the device is let in and its item refused by the chaincode inside the batch (or,
    // should the list have refreshed, refused by the gateway before batching).
    const revocation = await callGateway<{ revokedSerials: string[] }>(
      description,
      UTILITY_A,
      adminOf(UTILITY_A),
      'POST',
      `/v1/devices/${encodeURIComponent(revoked.name)}/revoke`,
    );
    expect(revocation.status, JSON.stringify(revocation.body)).to.equal(200);
    expect(revocation.body.revokedSerials).to.have.length(1);

    const slotId = uniqueSlotId('batch-mixed');
    await actors.openSlot(slotId, 20_000);
    const slot = await evaluateJson<SlotView>(actors.dso.contract(), 'GetSlot', [slotId]);

    const good = ['hems-a-001', 'hems-a-002', 'hems-a-003', 'hems-a-004', 'hems-a-005', 'hems-a-007'].map(
      (name, index) => signed(device(name), slotId, ...rangeFor(index)),
    );
    const inverted = signed(device('hems-a-006'), slotId, 9.413, 8.127);
    const tooHigh = signed(device('hems-a-008'), slotId, 7.519, 61.237);
    // The forger's payload with the signature of other bytes.
    const signedOther = signFor(forger, slotId, ...rangeFor(12));
    const forged = signFor(forger, slotId, ...rangeFor(11));
    const forgedSent = {
      ...forged,
      body: { payload: forged.body.payload, signature: signedOther.body.signature },
    };
    submissions.push(forgedSent);
    const fromRevoked = signed(revoked, slotId, ...rangeFor(13));
    const bad = [inverted, tooHigh, forgedSent, fromRevoked];

    // All at once: they land in the batch the first one opened (it waits 1 s).
    const [goodAnswers, badAnswers] = await Promise.all([
      Promise.all(good.map((submission) => postForecast(description, submission))),
      Promise.all(bad.map((submission) => postForecast(description, submission))),
    ]);

    const txIds = goodAnswers.map((answer, index) =>
      expectAccepted(answer, slotId, good[index]?.device.name ?? ''),
    );
    const txId = committed(txIds[0] ?? '', slotId);
    expect(new Set(txIds), 'one transaction for every good device').to.have.property('size', 1);
    expect(goodAnswers.some(isReplay)).to.equal(false);

    const [invertedAnswer, tooHighAnswer, forgedAnswer, revokedAnswer] = badAnswers;
    const refusals = [
      expectRefused(
        invertedAnswer!,
        422,
        'INVALID_ARGUMENT',
        /payload\.lower must not exceed payload\.upper/,
        'lower > upper',
      ),
      expectRefused(
        tooHighAnswer!,
        422,
        'INVALID_ARGUMENT',
        /payload\.upper must be between 0 and 50/,
        'above 50 kW',
      ),
      expectRefused(forgedAnswer!, 403, 'FORBIDDEN', /signature does not verify/, 'forged signature'),
    ];
    // Each refusal names the batch transaction that refused the item.
    for (const refusal of refusals) {
      expect(refusal.transactionId).to.equal(txId);
    }
    if (revokedAnswer?.status === 401) {
      expectRefused(revokedAnswer, 401, 'UNAUTHENTICATED', /revoked/, 'revoked device (by the gateway)');
    } else {
      const refusal = expectRefused(
        revokedAnswer!,
        403,
        'FORBIDDEN',
        /revoked/,
        'revoked device (in the batch)',
      );
      expect(refusal.transactionId).to.equal(txId);
    }

    // The transaction is valid on the ledger, and the batch holds the good items only.
    await expectBatchTransaction(description, txId);
    expect(await batchesOf(actors, slotId)).to.deep.equal({ batches: [txId], items: good.length });

    // Each good home's receipt: its own forecast in that batch, with a proof the regulator checks.
    const indexes = new Set<number>();
    for (const submission of good) {
      const receipt = await expectReceipt(description, submission.device, slotId);
      expect(receipt).to.include({ slotId, org: UTILITY_A, batch: txId, count: good.length });
      expect(receipt.forecast).to.deep.equal(stored(submission));
      indexes.add(receipt.index);
      expect(
        await prove(description, receipt, receipt.forecast),
        `${submission.device.name}'s proof`,
      ).to.equal(true);
    }
    expect([...indexes].sort()).to.deep.equal(good.map((_, index) => index));
    const first = await expectReceipt(description, good[0]!.device, slotId);
    expect(await prove(description, first, { ...first.forecast, upper: first.forecast.upper + 1 })).to.equal(
      false,
    );
    // A refused home has no forecast in the slot.
    for (const submission of [inverted, tooHigh]) {
      const none = await receiptOf(description, submission.device, slotId);
      expect(none.status, JSON.stringify(none.body)).to.equal(404);
    }

    // At the deadline UtilityA's gateway publishes its aggregates: the good homes only.
    const deadline = new Date(slot.deadline).getTime();
    await sleep(Math.max(0, deadline - Date.now()));
    let triggered = false;
    const aggregates = await eventually(
      `UtilityA's aggregates of ${slotId}`,
      async () => {
        const view = await evaluateJson<SlotView>(actors.dso.contract(), 'GetSlot', [slotId]);
        const own = view.aggregates.filter((aggregate) => aggregate.org === UTILITY_A);
        if (own.length > 0 && own.every((aggregate) => aggregate.published)) {
          return own;
        }
        if (!triggered && Date.now() > deadline + 10_000) {
          // The scheduler is late: UtilityA's admin asks its gateway to publish now.
          triggered = true;
          await callGateway(
            description,
            UTILITY_A,
            adminOf(UTILITY_A),
            'POST',
            `/v1/slots/${slotId}/aggregates`,
          );
        }
        return undefined;
      },
      45_000,
    );
    const onBus = (bus: string): Submission[] => good.filter((submission) => submission.device.bus === bus);
    const bus1 = aggregates.find((aggregate) => aggregate.bus === 'bus-1');
    expect(bus1).to.include({
      homes: onBus('bus-1').length,
      withheld: false,
      lower: sumKw(onBus('bus-1').map((submission) => submission.lower)),
      upper: sumKw(onBus('bus-1').map((submission) => submission.upper)),
    });
    // One home on bus-2: fewer than k = 5, so only its count is published.
    expect(aggregates.find((aggregate) => aggregate.bus === 'bus-2')).to.include({
      homes: onBus('bus-2').length,
      withheld: true,
    });
  });

  describe('replays and duplicates of one device', () => {
    let slotId: string;

    before(async () => {
      slotId = uniqueSlotId('batch-replay');
      await actors.openSlot(slotId, 150_000);
    });

    it('the same signed body again is answered with the first receipt; its nonce with another forecast is a conflict', async () => {
      const home = device('hems-a-001');
      const forecast = signed(home, slotId, ...rangeFor(21));
      const first = await postForecast(description, forecast);
      const txId = committed(expectAccepted(first, slotId, 'first submission'), slotId);
      expect(isReplay(first)).to.equal(false);

      // The exact same bytes (no idempotency key: the gateway tells it by its nonce).
      const again = await postForecast(description, forecast);
      expect(expectAccepted(again, slotId, 'the same body again')).to.equal(txId);
      expect(isReplay(again), 'idempotent-replay: true').to.equal(true);
      expect((again.body as Accepted).acceptedAt).to.equal((first.body as Accepted).acceptedAt);

      // The same nonce signing another range: refused before it reaches the ledger.
      const [lower, upper] = rangeFor(22);
      const reused = signed(home, slotId, lower, upper, forecast.nonce);
      expectRefused(
        await postForecast(description, reused),
        409,
        'CONFLICT',
        /nonce was already used/,
        'reused nonce',
      );

      // No new transaction: the slot holds the first batch only, and the first forecast is in effect.
      expect(await batchesOf(actors, slotId)).to.deep.equal({ batches: [txId], items: 1 });
      const receipt = await expectReceipt(description, home, slotId);
      expect(receipt).to.include({ batch: txId, index: 0, count: 1 });
      expect(receipt.forecast).to.deep.equal(stored(forecast));
      await expectBatchTransaction(description, txId);
    });

    it('two different forecasts of one device at once go into two batches, and the later one is in effect', async () => {
      const home = device('hems-a-002');
      const earlier = signed(home, slotId, ...rangeFor(23));
      const later = signed(home, slotId, ...rangeFor(24));
      // The second arrives while the first one's batch is still open: the gateway sends that batch
      // at once and puts the second forecast into the next one.
      const sending = postForecast(description, earlier);
      await sleep(150);
      const [earlierAnswer, laterAnswer] = await Promise.all([sending, postForecast(description, later)]);
      const earlierTx = committed(expectAccepted(earlierAnswer, slotId, 'earlier forecast'), slotId);
      const laterTx = committed(expectAccepted(laterAnswer, slotId, 'later forecast'), slotId);
      expect(earlierTx).to.not.equal(laterTx);
      expect(isReplay(earlierAnswer) || isReplay(laterAnswer)).to.equal(false);

      const earlierInfo = await expectBatchTransaction(description, earlierTx);
      const laterInfo = await expectBatchTransaction(description, laterTx);
      expect(new Date(laterInfo.timestamp).getTime()).to.be.above(new Date(earlierInfo.timestamp).getTime());
      expect((await batchesOf(actors, slotId)).batches).to.include.members([earlierTx, laterTx]);

      const receipt = await expectReceipt(description, home, slotId);
      expect(receipt).to.include({ batch: laterTx, index: 0, count: 1 });
      expect(receipt.forecast).to.deep.equal(stored(later));
      expect(await prove(description, receipt, receipt.forecast)).to.equal(true);

      // Retrying the earlier one is answered with its receipt and does not bring it back.
      const retried = await postForecast(description, earlier);
      expect(expectAccepted(retried, slotId, 'earlier forecast retried')).to.equal(earlierTx);
      expect(isReplay(retried)).to.equal(true);
      expect((await expectReceipt(description, home, slotId)).forecast).to.deep.equal(stored(later));
    });
  });

  describe(`a gateway restart mid-batch (batches wait ${RESTART_BATCH_WAIT_MS} ms) and the device's retry`, () => {
    let graceful: string;
    let crash: string;

    before(async function () {
      this.timeout(90_000);
      graceful = uniqueSlotId('batch-sigterm');
      crash = uniqueSlotId('batch-sigkill');
      await actors.openSlot(graceful, 150_000);
      await actors.openSlot(crash, 150_000);
      await gateways.stop([UTILITY_A]);
      await gateways.start(description, [UTILITY_A], { env: batchWait(RESTART_BATCH_WAIT_MS) });
    });

    /** The device's retry with the same body once the gateway is back; then a second one. */
    async function retryAfterRestart(
      forecast: Submission,
      idempotencyKey: string,
    ): Promise<{ retry: ApiResponse<Accepted | ErrorBody>; txId: string }> {
      const retry = await postForecast(description, forecast, { 'idempotency-key': idempotencyKey });
      const txId = committed(
        expectAccepted(retry, forecast.slotId, 'retry after the restart'),
        forecast.slotId,
      );
      // A second retry (without the key: the gateway tells it by its nonce) is a replay.
      const second = await postForecast(description, forecast);
      expect(expectAccepted(second, forecast.slotId, 'second retry')).to.equal(txId);
      expect(isReplay(second), 'the second retry is a replay').to.equal(true);
      // Exactly one forecast stored for the home, and it is the one sent.
      expect(await batchesOf(actors, forecast.slotId)).to.deep.equal({ batches: [txId], items: 1 });
      const receipt = await expectReceipt(description, forecast.device, forecast.slotId);
      expect(receipt).to.include({ batch: txId, index: 0, count: 1 });
      expect(receipt.forecast).to.deep.equal(stored(forecast));
      await expectBatchTransaction(description, txId);
      return { retry, txId };
    }

    it('SIGTERM: the graceful shutdown sends the open batch and answers the device; its retry is a replay', async function () {
      this.timeout(120_000);
      const forecast = signed(device('hems-a-003'), graceful, ...rangeFor(31));
      const idempotencyKey = `retry-${randomBytes(8).toString('hex')}`;
      const answering = postForecast(description, forecast, { 'idempotency-key': idempotencyKey });
      await sleep(500);
      await gateways.stop([UTILITY_A], 'SIGTERM');
      const first = await answering;
      const firstTx = expectAccepted(first, graceful, 'the request in flight at SIGTERM');
      await gateways.start(description, [UTILITY_A], { env: batchWait(RESTART_BATCH_WAIT_MS) });

      const { retry, txId } = await retryAfterRestart(forecast, idempotencyKey);
      expect(txId, 'the first receipt').to.equal(firstTx);
      expect(isReplay(retry), 'idempotent-replay: true').to.equal(true);
      expect((retry.body as Accepted).acceptedAt).to.equal((first.body as Accepted).acceptedAt);
    });

    it('SIGKILL: the open batch is lost with the gateway; the retry stores the forecast once', async function () {
      this.timeout(120_000);
      const forecast = signed(device('hems-a-004'), crash, ...rangeFor(32));
      const idempotencyKey = `retry-${randomBytes(8).toString('hex')}`;
      const answering = postForecast(description, forecast, { 'idempotency-key': idempotencyKey }).then(
        (response) => ({ response }),
        (error: unknown) => ({ error }),
      );
      await sleep(500);
      await gateways.stop([UTILITY_A], 'SIGKILL');
      const first = await answering;
      expect(first, 'the device got no answer').to.have.property('error').that.is.instanceOf(Error);
      // The batch never left the gateway: nothing is stored.
      expect(await batchesOf(actors, crash)).to.deep.equal({ batches: [], items: 0 });
      await gateways.start(description, [UTILITY_A], { env: batchWait(RESTART_BATCH_WAIT_MS) });

      const { retry } = await retryAfterRestart(forecast, idempotencyKey);
      expect(isReplay(retry), 'the retry is a new submission').to.equal(false);
    });
  });

  describe('privacy of the batch transactions', () => {
    const chains = new Map<string, FetchedBlock[]>();

    before(async function () {
      this.timeout(120_000);
      expect(batchTransactions.size, 'the tests above committed batches').to.be.at.least(1);
      const channel = actors.description.channel;
      const height = await chainHeight(actors.relay(UTILITY_A), channel);
      // Members outside UtilityA's collection, each through its own peer.
      const outsiders: [string, FabricConnection][] = [
        ['DSOMSP', actors.dso],
        ['RegulatorMSP', actors.auditor],
        [UTILITY_B, actors.relay(UTILITY_B)],
      ];
      for (const [mspId, connection] of outsiders) {
        await eventually(`${mspId}'s peer at height ${height}`, async () =>
          (await chainHeight(connection, channel)) >= height ? true : undefined,
        );
        chains.set(mspId, await fetchBlocks(connection, channel));
      }
    });

    it('every batch transaction is on the outsiders’ peers, created by the relay with the slot id as its only argument (positive control)', () => {
      for (const [mspId, blocks] of chains) {
        const transactions = blocks.flatMap((block) => block.transactions);
        for (const [txId, slotId] of batchTransactions) {
          const tx = transactions.find((candidate) => candidate.txId === txId);
          expect(tx, `${txId} on ${mspId}'s peer`).to.not.equal(undefined);
          expect(tx?.chaincodeArgs).to.deep.equal(['SubmitForecasts', slotId]);
          expect(tx?.creatorMspId).to.equal(UTILITY_A);
          const attributes = fabricAttributes(new X509Certificate(tx?.creatorCertificate ?? ''));
          expect(attributes['hems.role']).to.equal('relay');
          expect(attributes).to.not.have.property('hems.home');
        }
      }
    });

    it('the chaincode response, event and writes of a batch hold counts and refusals only: no home, value, nonce or signature', () => {
      const blocks = chains.get('DSOMSP') ?? [];
      const secrets = submissions.flatMap(secretsOf);
      for (const [txId, slotId] of batchTransactions) {
        const block = blocks.find((candidate) => candidate.transactions.some((tx) => tx.txId === txId));
        const parts = block === undefined ? undefined : decodeBatchTransaction(block, txId);
        if (parts === undefined) {
          throw new Error(`${txId} not found`);
        }
        const response = JSON.parse(parts.response) as Record<string, unknown>;
        expect(Object.keys(response).sort()).to.deep.equal([
          'accepted',
          'acceptedAt',
          'refused',
          'slotId',
          'txId',
        ]);
        expect(response).to.include({ slotId, txId });
        for (const refusal of response.refused as Record<string, unknown>[]) {
          expect(Object.keys(refusal).sort()).to.deep.equal(['code', 'index', 'message']);
        }
        // The forecasts are private writes of UtilityA's collection only: hashes on these peers.
        expect(parts.collections.length).to.be.at.least(1);
        for (const collection of parts.collections) {
          expect(collection).to.match(/UtilityA/i);
        }
        const visible = Buffer.concat([
          Buffer.from(parts.args.join('\n')),
          Buffer.from(parts.response),
          Buffer.from(parts.eventName),
          parts.eventPayload,
          ...parts.publicWrites.flatMap((write) => [Buffer.from(write.key), write.value]),
        ]);
        for (const { name, needle } of secrets) {
          expect(visible.includes(needle), `${txId} shows a ${name}`).to.equal(false);
        }
      }
      // The mixed batch's answer tells which positions were refused and why, never whose.
      const mixed = [...batchTransactions].find(([, slotId]) => slotId.startsWith('batch-mixed'));
      const mixedBlock = blocks.find((candidate) =>
        candidate.transactions.some((tx) => tx.txId === mixed?.[0]),
      );
      const mixedParts =
        mixedBlock === undefined ? undefined : decodeBatchTransaction(mixedBlock, mixed?.[0] ?? '');
      const answer = JSON.parse(mixedParts?.response ?? '{}') as {
        accepted: number;
        refused: { code: string }[];
      };
      expect(answer.accepted).to.equal(6);
      expect(answer.refused.map((refusal) => refusal.code)).to.include.members([
        'INVALID_ARGUMENT',
        'FORBIDDEN',
      ]);
    });

    it('no block on the outsiders’ peers holds any encoding of a submitted forecast, home id, nonce, signature or device certificate', () => {
      for (const [mspId, blocks] of chains) {
        const all = Buffer.concat(blocks.map((block) => block.bytes));
        for (const submission of submissions) {
          for (const { name, needle } of secretsOf(submission)) {
            expect(
              all.includes(needle),
              `${mspId}'s blocks hold ${submission.device.name}'s ${name}`,
            ).to.equal(false);
          }
        }
      }
    });

    it("the outsiders' peers store no nonce or forecast of the batches on disk; UtilityA's does (positive control)", () => {
      const peerFiles = (org: string): Buffer[] =>
        filesUnder(path.join(E2E_STATE_DIR, 'data', `peer0.${org}`)).map((file) => readFileSync(file));
      const utilityA = peerFiles('utilitya');
      expect(
        submissions.some((submission) =>
          utilityA.some((content) => content.includes(Buffer.from(submission.nonce))),
        ),
        "UtilityA's peer stores its batches",
      ).to.equal(true);
      for (const org of ['dso', 'regulator', 'utilityb']) {
        const files = peerFiles(org);
        for (const submission of submissions) {
          for (const needle of [
            Buffer.from(submission.nonce),
            Buffer.from(canonicalJson(stored(submission))),
          ]) {
            expect(
              files.some((content) => content.includes(needle)),
              `${org}'s peer holds ${submission.device.name}'s forecast`,
            ).to.equal(false);
          }
        }
      }
    });
  });
});
