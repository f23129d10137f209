import { expect } from 'chai';
import { CommitError, CommitStatusError, EndorseError } from '@hyperledger/fabric-gateway';
import type { ServiceError } from '@grpc/grpc-js';
import { toHttpError } from '../src/http/errors';
import { freshGateway } from './support/suite';

describe('audit routes', () => {
  const suite = freshGateway('RegulatorMSP', ['auditor']);

  it('reads a slot history, a decoded transaction and a decoded block for auditors and the DSO', async () => {
    const auditor = await suite.gateway.pki.role('RegulatorMSP', 'auditor');
    suite.gateway.ledger.on('GetSlotHistory', {
      slotId: 'slot-1',
      entries: [{ record: 'slot', txId: 'a'.repeat(64) }],
    });
    const history = await suite.gateway.request(auditor, {
      method: 'GET',
      url: '/v1/audit/slots/slot-1/history',
    });
    expect(history.statusCode).to.equal(200);
    expect(history.json()).to.deep.equal({
      slotId: 'slot-1',
      entries: [{ record: 'slot', txId: 'a'.repeat(64) }],
    });

    const tx = {
      transactionId: 'b'.repeat(64),
      blockNumber: 7,
      timestamp: '2030-01-01T10:00:00.000Z',
      creatorMspId: 'DSOMSP',
      creatorRole: 'dso',
      endorsingOrganizations: ['DSOMSP', 'RegulatorMSP', 'UtilityAMSP'],
      validationCode: 'VALID',
      function: 'PublishDispatch',
    };
    suite.gateway.ledger.transactions.set(tx.transactionId, tx);
    const found = await suite.gateway.request(auditor, {
      method: 'GET',
      url: `/v1/audit/transactions/${tx.transactionId}`,
    });
    expect(found.json()).to.deep.equal(tx);
    const missing = await suite.gateway.request(auditor, {
      method: 'GET',
      url: `/v1/audit/transactions/${'c'.repeat(64)}`,
    });
    expect(missing.statusCode).to.equal(404);
    expect(
      (await suite.gateway.request(auditor, { method: 'GET', url: '/v1/audit/transactions/xyz' })).statusCode,
    ).to.equal(400);

    suite.gateway.ledger.blocks.set(7, { number: 7, dataHash: 'ab', previousHash: 'cd', transactions: [tx] });
    expect(
      (await suite.gateway.request(auditor, { method: 'GET', url: '/v1/audit/blocks/7' })).json(),
    ).to.include({
      number: 7,
    });
    const future = await suite.gateway.request(auditor, { method: 'GET', url: '/v1/audit/blocks/42' });
    expect(future.statusCode).to.equal(404);
    expect(future.json<{ message: string }>().message).to.match(/does not exist yet \(height 42\)/);
    for (const bad of ['-1', '1.5', 'x', '01']) {
      expect(
        (await suite.gateway.request(auditor, { method: 'GET', url: `/v1/audit/blocks/${bad}` })).statusCode,
        bad,
      ).to.equal(400);
    }
  });

  it('checks a proof of submission with the revealed forecast in transient data only', async () => {
    const auditor = await suite.gateway.pki.role('RegulatorMSP', 'auditor');
    suite.gateway.ledger.on('VerifyForecastProof', { slotId: 'slot-1', org: 'UtilityAMSP', match: true });
    const revealed = {
      forecast: {
        slotId: 'slot-1',
        bus: 'bus-1',
        lower: 1.25,
        upper: 2.5,
        nonce: 'AAAAAAAAAAAAAAAAAAAAAA==',
      },
      index: 2,
      count: 3,
      path: ['', 'a'.repeat(64)],
    };
    const response = await suite.gateway.request(auditor, {
      method: 'POST',
      url: '/v1/audit/proofs',
      payload: { org: 'UtilityAMSP', slotId: 'slot-1', batch: 'd'.repeat(64), revealed },
    });
    expect(response.statusCode).to.equal(200);
    expect(response.json()).to.include({ match: true });
    const [call] = suite.gateway.ledger.callsOf('VerifyForecastProof');
    expect(call?.options.arguments).to.deep.equal(['UtilityAMSP', 'slot-1', 'd'.repeat(64)]);
    expect(JSON.parse(Buffer.from(call?.options.transientData?.revealed ?? []).toString())).to.deep.equal(
      revealed,
    );
    for (const payload of [
      { org: 'UtilityAMSP', slotId: 'slot-1', batch: 'D'.repeat(64), revealed },
      { org: 'UtilityAMSP', slotId: 'slot-1', batch: 'd'.repeat(64), revealed: { ...revealed, path: ['x'] } },
      { org: 'UtilityAMSP', slotId: 'slot-1', batch: 'd'.repeat(64), revealed: { ...revealed, index: 1000 } },
      { org: 'UtilityAMSP', slotId: 'slot-1', batch: 'd'.repeat(64), revealed: revealed.forecast },
    ]) {
      const bad = await suite.gateway.request(auditor, { method: 'POST', url: '/v1/audit/proofs', payload });
      expect(bad.statusCode).to.equal(400);
    }
  });

  it('refuses devices and utility relays on history and blocks', async () => {
    const device = await suite.gateway.pki.device('UtilityAMSP', 'h', 'bus-1');
    const relay = await suite.gateway.pki.role('UtilityAMSP', 'relay');
    for (const caller of [device, relay]) {
      for (const url of ['/v1/audit/slots/slot-1/history', '/v1/audit/blocks/1']) {
        expect((await suite.gateway.get(caller, url)).statusCode, url).to.equal(403);
      }
    }
  });
});

describe('operations routes', () => {
  const suite = freshGateway('UtilityAMSP', ['relay']);

  it('answers /healthz and /readyz without a client certificate', async () => {
    expect((await suite.gateway.request(undefined, { method: 'GET', url: '/healthz' })).json()).to.deep.equal(
      {
        status: 'ok',
      },
    );
    const ready = await suite.gateway.request(undefined, { method: 'GET', url: '/readyz' });
    expect(ready.json()).to.include({ status: 'ready', org: 'UtilityAMSP', blockHeight: 42 });
    suite.gateway.ledger.blockHeight = () => Promise.reject(new Error('UNAVAILABLE'));
    const down = await suite.gateway.request(undefined, { method: 'GET', url: '/readyz' });
    expect(down.statusCode).to.equal(503);
  });

  it('publishes an OpenAPI 3 document generated from the route schemas', async () => {
    const response = await suite.gateway.request(undefined, { method: 'GET', url: '/docs/json' });
    expect(response.statusCode).to.equal(200);
    const document = response.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(document.openapi).to.match(/^3\./);
    for (const path of [
      '/v1/slots',
      '/v1/slots/{slotId}',
      '/v1/slots/{slotId}/forecast',
      '/v1/slots/{slotId}/dispatch',
      '/v1/slots/{slotId}/aggregates',
      '/v1/audit/slots/{slotId}/history',
      '/v1/audit/transactions/{txId}',
      '/v1/audit/blocks/{number}',
      '/v1/audit/proofs',
    ]) {
      expect(document.paths, path).to.have.property(path);
    }
  });

  it('keeps every schema of the document valid OpenAPI 3.0 (exclusive bounds are booleans there)', async () => {
    const document = (
      await suite.gateway.request(undefined, { method: 'GET', url: '/docs/json' })
    ).json<unknown>();
    expect((document as { openapi: string }).openapi).to.match(/^3\.0\./);
    const numericBounds: string[] = [];
    const walk = (value: unknown, at: string): void => {
      if (Array.isArray(value)) {
        value.forEach((item, index) => walk(item, `${at}/${index}`));
      } else if (typeof value === 'object' && value !== null) {
        for (const [key, member] of Object.entries(value)) {
          if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof member !== 'boolean') {
            numericBounds.push(`${at}/${key}`);
          }
          walk(member, `${at}/${key}`);
        }
      }
    };
    walk(document, '');
    expect(numericBounds).to.deep.equal([]);
  });

  it('answers unknown routes with the common error format', async () => {
    const response = await suite.gateway.request(undefined, { method: 'GET', url: '/nope' });
    expect(response.statusCode).to.equal(404);
    expect(response.json()).to.deep.equal({ statusCode: 404, code: 'NOT_FOUND', message: 'no such route' });
  });
});

describe('Fabric error mapping', () => {
  const cause = Object.assign(new Error('grpc'), {
    code: 10,
    details: '',
    metadata: {},
  }) as unknown as ServiceError;

  it('maps endorsement, commit and commit-status failures by type, keeping the transaction id', () => {
    const endorse = toHttpError(
      new EndorseError({ code: 10, details: [], cause, transactionId: 't1', message: 'endorse failed' }),
    );
    expect(endorse).to.include({ statusCode: 502, code: 'ENDORSEMENT_FAILED', transactionId: 't1' });
    const mvcc = toHttpError(
      new CommitError({ code: 11, transactionId: 't2', message: 'MVCC_READ_CONFLICT' }),
    );
    expect(mvcc).to.include({ statusCode: 409, code: 'CONFLICT', transactionId: 't2' });
    const invalid = toHttpError(
      new CommitError({ code: 10, transactionId: 't3', message: 'ENDORSEMENT_POLICY_FAILURE' }),
    );
    expect(invalid).to.include({ statusCode: 502, code: 'COMMIT_FAILED', transactionId: 't3' });
    const unknown = toHttpError(
      new CommitStatusError({ code: 4, details: [], cause, transactionId: 't4', message: 'deadline' }),
    );
    expect(unknown).to.include({ statusCode: 504, code: 'COMMIT_STATUS_UNKNOWN', transactionId: 't4' });
  });

  it('keeps chaincode refusals from the endorsers’ details', () => {
    const error = new EndorseError({
      code: 10,
      details: [
        {
          address: 'peer:1',
          mspId: 'UtilityAMSP',
          message: 'chaincode response 500, FORBIDDEN: device certificate has been revoked',
        },
      ],
      cause,
      transactionId: 't5',
      message: 'failed to endorse transaction, see attached details for more info',
    });
    expect(toHttpError(error)).to.include({
      statusCode: 403,
      code: 'FORBIDDEN',
      message: 'device certificate has been revoked',
      transactionId: 't5',
    });
  });
});
