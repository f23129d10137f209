import { X509Certificate } from 'node:crypto';
import { fabricAttributes } from '@hems/protocol';
import { connectAs, type FabricConnection, type NetworkDescription } from '@hems/network-client';
import { common, msp, peer } from '@hyperledger/fabric-protos';
import { HttpError } from '../http/errors';
import { submitRetryingConflicts, validationCodeName } from './mvcc-retry';
import type {
  BlockInfo,
  ChaincodeEventStream,
  ChaincodeEventsOptions,
  ContractName,
  Ledger,
  LedgerContract,
  ServiceIdentity,
  TransactionInfo,
} from './ports';

/** Enrolment ids of each service identity in the network's identities. */
const ENROLMENT_ID: Readonly<Record<ServiceIdentity, string>> = {
  relay: 'relay',
  dso: 'dso-operator',
  market: 'market-operator',
  meter: 'meter-headend',
  auditor: 'auditor',
  admin: 'orgadmin',
};

/**
 * The gateway's ledger: one fabric-gateway connection per service identity of its org, all to the
 * org's own peer. Submits wait for the commit; evaluations go to the org's peer only.
 */
export class FabricLedger implements Ledger {
  readonly identities: readonly ServiceIdentity[];
  private readonly connections = new Map<ServiceIdentity, FabricConnection>();

  constructor(
    private readonly description: NetworkDescription,
    readonly mspId: string,
  ) {
    for (const identity of Object.keys(ENROLMENT_ID) as ServiceIdentity[]) {
      const enrolled = description.identities.some(
        (candidate) => candidate.mspId === mspId && candidate.name === ENROLMENT_ID[identity],
      );
      if (enrolled) {
        this.connections.set(identity, connectAs(description, { mspId, identity: ENROLMENT_ID[identity] }));
      }
    }
    // Reads use the most specific identity first (relay, dso, auditor, ...), the admin last.
    this.identities = [...this.connections.keys()].sort((a, b) =>
      a === 'admin' ? 1 : b === 'admin' ? -1 : 0,
    );
  }

  private connection(identity: ServiceIdentity): FabricConnection {
    const connection = this.connections.get(identity);
    if (connection === undefined) {
      throw new HttpError(403, 'FORBIDDEN', `this gateway of ${this.mspId} holds no ${identity} identity`);
    }
    return connection;
  }

  contract(identity: ServiceIdentity, contractName: ContractName = 'timeslot'): LedgerContract {
    // timeslot is the chaincode's default contract: its transactions go by their bare names.
    const contract = this.connection(identity).contract(
      contractName === 'timeslot' ? undefined : contractName,
    );
    return {
      evaluate: (name, options = {}) =>
        contract.evaluate(name, {
          arguments: [...(options.arguments ?? [])],
          ...(options.transientData ? { transientData: { ...options.transientData } } : {}),
          // An evaluation that needs the org's secret or private data (GetAccountId, GetMyAccount,
          // ListOrderRefs) must run on the org's own peer: the gateway then picks one of its peers.
          ...(options.endorsingOrganizations
            ? { endorsingOrganizations: [...options.endorsingOrganizations] }
            : {}),
        }),
      submit: (name, options = {}) =>
        submitRetryingConflicts(async () => {
          const transaction = await contract
            .newProposal(name, {
              arguments: [...(options.arguments ?? [])],
              ...(options.transientData ? { transientData: { ...options.transientData } } : {}),
              ...(options.endorsingOrganizations
                ? { endorsingOrganizations: [...options.endorsingOrganizations] }
                : {}),
            })
            .endorse();
          if (options.submitIf?.(transaction.getResult()) === false) {
            return {
              successful: true,
              code: 0,
              transactionId: transaction.getTransactionId(),
              result: transaction.getResult(),
              skipped: true,
            };
          }
          const submitted = await transaction.submit();
          const status = await submitted.getStatus();
          return {
            successful: status.successful,
            code: status.code,
            transactionId: status.transactionId,
            result: submitted.getResult(),
          };
        }),
    };
  }

  private qscc(): ReturnType<FabricConnection['network']['getContract']> {
    const first = this.identities[0];
    if (first === undefined) {
      throw new HttpError(503, 'UNAVAILABLE', 'this gateway holds no Fabric identity');
    }
    return this.connection(first).network.getContract('qscc');
  }

  async blockHeight(): Promise<number> {
    const info = await this.qscc().evaluateTransaction('GetChainInfo', this.description.channel);
    return common.BlockchainInfo.deserializeBinary(info).getHeight();
  }

  async block(number: number): Promise<BlockInfo> {
    const bytes = await this.qscc().evaluateTransaction(
      'GetBlockByNumber',
      this.description.channel,
      String(number),
    );
    return decodeBlock(common.Block.deserializeBinary(bytes));
  }

  async transaction(transactionId: string): Promise<TransactionInfo> {
    let blockBytes: Uint8Array;
    try {
      blockBytes = await this.qscc().evaluateTransaction(
        'GetBlockByTxID',
        this.description.channel,
        transactionId,
      );
    } catch {
      throw new HttpError(404, 'NOT_FOUND', `transaction ${transactionId} is not on the ledger`);
    }
    const found = decodeBlock(common.Block.deserializeBinary(blockBytes)).transactions.find(
      (tx) => tx.transactionId === transactionId,
    );
    if (found === undefined) {
      throw new HttpError(404, 'NOT_FOUND', `transaction ${transactionId} is not on the ledger`);
    }
    return found;
  }

  /**
   * Chaincode events of the HEMS chaincode from the org's own peer, read with the reader identity.
   * fabric-gateway opens the stream asynchronously; the wrapper lets callers hold a closeable
   * stream at once, and closing it before it opened closes it as soon as it does.
   */
  chaincodeEvents(options: ChaincodeEventsOptions = {}): ChaincodeEventStream {
    const reader = this.identities[0];
    if (reader === undefined) {
      throw new HttpError(503, 'UNAVAILABLE', 'this gateway holds no Fabric identity');
    }
    const network = this.connection(reader).network;
    const opened = network.getChaincodeEvents(
      this.description.chaincode,
      options.startBlock === undefined ? {} : { startBlock: options.startBlock },
    );
    // A stream that failed to open is reported to whoever iterates it, never as an unhandled rejection.
    opened.catch(() => undefined);
    let closed = false;
    return {
      close: () => {
        closed = true;
        void opened.then(
          (events) => events.close(),
          () => undefined,
        );
      },
      async *[Symbol.asyncIterator]() {
        const events = await opened;
        try {
          for await (const event of events) {
            if (closed) {
              return;
            }
            yield {
              eventName: event.eventName,
              payload: event.payload,
              blockNumber: event.blockNumber,
              transactionId: event.transactionId,
            };
          }
        } finally {
          events.close();
        }
      },
    };
  }

  close(): void {
    for (const connection of this.connections.values()) {
      connection.close();
    }
  }
}

function roleOf(certificatePem: string): string | null {
  try {
    return fabricAttributes(new X509Certificate(certificatePem))['hems.role'] ?? null;
  } catch {
    return null;
  }
}

/** Decodes a block into what auditors need; no payload or argument beyond the function name. */
export function decodeBlock(block: common.Block): BlockInfo {
  const header = block.getHeader();
  const number = header?.getNumber() ?? 0;
  const filter =
    block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ??
    new Uint8Array();
  const utf8 = new TextDecoder();
  const transactions: TransactionInfo[] = [];
  (block.getData()?.getDataList_asU8() ?? []).forEach((data, index) => {
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(data).getPayload_asU8(),
    );
    const payloadHeader = payload.getHeader();
    if (payloadHeader === undefined) {
      return;
    }
    const channelHeader = common.ChannelHeader.deserializeBinary(payloadHeader.getChannelHeader_asU8());
    const creator = msp.SerializedIdentity.deserializeBinary(
      common.SignatureHeader.deserializeBinary(payloadHeader.getSignatureHeader_asU8()).getCreator_asU8(),
    );
    let fn = '';
    const endorsers: string[] = [];
    if (channelHeader.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
      const action = peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()[0];
      const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(
        action?.getPayload_asU8() ?? new Uint8Array(),
      );
      for (const endorsement of actionPayload.getAction()?.getEndorsementsList() ?? []) {
        const endorser = msp.SerializedIdentity.deserializeBinary(endorsement.getEndorser_asU8()).getMspid();
        if (!endorsers.includes(endorser)) {
          endorsers.push(endorser);
        }
      }
      const input = peer.ChaincodeProposalPayload.deserializeBinary(
        actionPayload.getChaincodeProposalPayload_asU8(),
      ).getInput_asU8();
      const args =
        peer.ChaincodeInvocationSpec.deserializeBinary(input)
          .getChaincodeSpec()
          ?.getInput()
          ?.getArgsList_asU8() ?? [];
      fn = args[0] === undefined ? '' : utf8.decode(args[0]);
    }
    // google.protobuf.Timestamp; typed loosely here because its declaration lives in another package.
    const timestamp = channelHeader.getTimestamp() as
      { getSeconds(): number; getNanos(): number } | undefined;
    transactions.push({
      transactionId: channelHeader.getTxId(),
      blockNumber: number,
      timestamp:
        timestamp === undefined
          ? ''
          : new Date(timestamp.getSeconds() * 1000 + Math.floor(timestamp.getNanos() / 1e6)).toISOString(),
      creatorMspId: creator.getMspid(),
      creatorRole: roleOf(utf8.decode(creator.getIdBytes_asU8())),
      endorsingOrganizations: endorsers.sort(),
      validationCode: validationCodeName(filter[index] ?? 255),
      function: fn,
    });
  });
  return {
    number,
    dataHash: Buffer.from(header?.getDataHash_asU8() ?? new Uint8Array()).toString('hex'),
    previousHash: Buffer.from(header?.getPreviousHash_asU8() ?? new Uint8Array()).toString('hex'),
    transactions,
  };
}
