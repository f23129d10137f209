/** What the batched-forecast e2e suite looks for in other members' blocks and ledgers. */
import { X509Certificate } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { common, ledger as ledgerProtos, peer } from '@hyperledger/fabric-protos';
import { type FabricConnection } from '@hems/network-client';
import { canonicalJson } from '@hems/protocol';
import { type FetchedBlock } from './blocks';
import { Submission, stored } from './batched-devices';
import { encodings } from './encodings';

export function doubles(kw: number): Buffer[] {
  const le = Buffer.alloc(8);
  le.writeDoubleLE(kw);
  const be = Buffer.alloc(8);
  be.writeDoubleBE(kw);
  return [le, be];
}

/** What must never show outside UtilityA's collection, with a name for the failure message. */
export function secretsOf(submission: Submission): { name: string; needle: Buffer }[] {
  const { device, lower, upper, nonce, body } = submission;
  const certificateDer = new X509Certificate(device.certificatePem).raw;
  const named = (name: string, needles: Buffer[]): { name: string; needle: Buffer }[] =>
    needles.map((needle) => ({ name, needle }));
  return [
    ...named('home id', encodings(device.homeId)),
    ...named('nonce', [...encodings(nonce), Buffer.from(nonce, 'base64')]),
    ...named('signed payload', encodings(body.payload)),
    ...named('signature', [Buffer.from(body.signature, 'base64'), ...encodings(body.signature)]),
    ...named('device certificate', [
      certificateDer,
      Buffer.from(certificateDer.toString('base64').slice(0, 64)),
    ]),
    ...named('stored forecast', encodings(canonicalJson(stored(submission)))),
    ...named('lower', [
      ...encodings(`"lower":${lower}`),
      ...encodings(`:${Math.round(lower * 1000)},`),
      ...doubles(lower),
    ]),
    ...named('upper', [
      ...encodings(`"upper":${upper}`),
      ...encodings(`:${Math.round(upper * 1000)},`),
      ...doubles(upper),
    ]),
    ...named('range', encodings(`${lower},${upper}`)),
  ];
}

/** A batch transaction decoded down to what the chaincode answered, emitted and wrote. */
export interface BatchTransactionParts {
  readonly args: string[];
  readonly response: string;
  readonly eventName: string;
  readonly eventPayload: Buffer;
  readonly publicWrites: { namespace: string; key: string; value: Buffer }[];
  readonly collections: string[];
}

/** The payload of the block's envelope whose transaction id is `txId`. */
export function envelopePayload(block: FetchedBlock, txId: string): common.Payload | undefined {
  for (const data of common.Block.deserializeBinary(block.bytes).getData()?.getDataList_asU8() ?? []) {
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(data).getPayload_asU8(),
    );
    const header = payload.getHeader();
    if (
      header !== undefined &&
      common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8()).getTxId() === txId
    ) {
      return payload;
    }
  }
  return undefined;
}

/** The public writes and the private collections a transaction's read-write set names. */
export function writesOf(results: Uint8Array): Pick<BatchTransactionParts, 'publicWrites' | 'collections'> {
  const publicWrites: BatchTransactionParts['publicWrites'] = [];
  const collections: string[] = [];
  for (const ns of ledgerProtos.rwset.TxReadWriteSet.deserializeBinary(results).getNsRwsetList()) {
    for (const write of ledgerProtos.rwset.kvrwset.KVRWSet.deserializeBinary(
      ns.getRwset_asU8(),
    ).getWritesList()) {
      publicWrites.push({
        namespace: ns.getNamespace(),
        key: write.getKey(),
        value: Buffer.from(write.getValue_asU8()),
      });
    }
    collections.push(
      ...ns.getCollectionHashedRwsetList().map((collection) => collection.getCollectionName()),
    );
  }
  return { publicWrites, collections };
}

export function decodeBatchTransaction(block: FetchedBlock, txId: string): BatchTransactionParts | undefined {
  const payload = envelopePayload(block, txId);
  if (payload === undefined) {
    return undefined;
  }
  const utf8 = new TextDecoder();
  const action = peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()[0];
  const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(
    action?.getPayload_asU8() ?? new Uint8Array(),
  );
  const args =
    peer.ChaincodeInvocationSpec.deserializeBinary(
      peer.ChaincodeProposalPayload.deserializeBinary(
        actionPayload.getChaincodeProposalPayload_asU8(),
      ).getInput_asU8(),
    )
      .getChaincodeSpec()
      ?.getInput()
      ?.getArgsList_asU8()
      .map((arg) => utf8.decode(arg)) ?? [];
  const chaincodeAction = peer.ChaincodeAction.deserializeBinary(
    peer.ProposalResponsePayload.deserializeBinary(
      actionPayload.getAction()?.getProposalResponsePayload_asU8() ?? new Uint8Array(),
    ).getExtension_asU8(),
  );
  const event = peer.ChaincodeEvent.deserializeBinary(chaincodeAction.getEvents_asU8());
  return {
    args,
    response: utf8.decode(chaincodeAction.getResponse()?.getPayload_asU8() ?? new Uint8Array()),
    eventName: event.getEventName(),
    eventPayload: Buffer.from(event.getPayload_asU8()),
    ...writesOf(chaincodeAction.getResults_asU8()),
  };
}

export async function chainHeight(connection: FabricConnection, channel: string): Promise<number> {
  const qscc = connection.network.getContract('qscc');
  return common.BlockchainInfo.deserializeBinary(
    await qscc.evaluateTransaction('GetChainInfo', channel),
  ).getHeight();
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

// ---------------------------------------------------------------------------------------------
