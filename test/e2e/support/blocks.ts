import { common, msp, peer } from '@hyperledger/fabric-protos';
import type { FabricConnection } from '@hems/network-client';

export interface DecodedTransaction {
  readonly txId: string;
  readonly creatorMspId: string;
  readonly creatorCertificate: string;
  readonly chaincodeArgs: readonly string[];
}

export interface FetchedBlock {
  readonly number: number;
  readonly bytes: Buffer;
  readonly transactions: readonly DecodedTransaction[];
}

const utf8 = new TextDecoder();

/** Every block of the channel as the connection's peer serves it through the qscc system chaincode. */
export async function fetchBlocks(connection: FabricConnection, channel: string): Promise<FetchedBlock[]> {
  const qscc = connection.network.getContract('qscc');
  const info = common.BlockchainInfo.deserializeBinary(
    await qscc.evaluateTransaction('GetChainInfo', channel),
  );
  const blocks: FetchedBlock[] = [];
  for (let number = 0; number < info.getHeight(); number += 1) {
    const bytes = Buffer.from(await qscc.evaluateTransaction('GetBlockByNumber', channel, String(number)));
    blocks.push({ number, bytes, transactions: decodeTransactions(bytes) });
  }
  return blocks;
}

function decodeTransactions(bytes: Uint8Array): DecodedTransaction[] {
  const block = common.Block.deserializeBinary(bytes);
  const transactions: DecodedTransaction[] = [];
  for (const data of block.getData()?.getDataList_asU8() ?? []) {
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(data).getPayload_asU8(),
    );
    const header = payload.getHeader();
    if (header === undefined) {
      continue;
    }
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) {
      continue;
    }
    const creator = msp.SerializedIdentity.deserializeBinary(
      common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8()).getCreator_asU8(),
    );
    const action = peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()[0];
    const proposalPayload = peer.ChaincodeProposalPayload.deserializeBinary(
      peer.ChaincodeActionPayload.deserializeBinary(
        action?.getPayload_asU8() ?? new Uint8Array(),
      ).getChaincodeProposalPayload_asU8(),
    );
    const args = peer.ChaincodeInvocationSpec.deserializeBinary(proposalPayload.getInput_asU8())
      .getChaincodeSpec()
      ?.getInput()
      ?.getArgsList_asU8()
      .map((arg) => utf8.decode(arg));
    transactions.push({
      txId: channelHeader.getTxId(),
      creatorMspId: creator.getMspid(),
      creatorCertificate: utf8.decode(creator.getIdBytes_asU8()),
      chaincodeArgs: args ?? [],
    });
  }
  return transactions;
}
