import { Contract, Info, Param, Returns, Transaction } from 'fabric-contract-api';
import {
  applySettingsChange,
  approvalQuorum,
  canonicalJson,
  collectionOf,
  conflict,
  invalidArgument,
  memberOrgs,
  normalizeSerial,
  notFound,
  parseBusId,
  parseCertificate,
  parseIntegerArgument,
  parseJsonArgument,
  parseMspId,
  parseProposalId,
  parseSettingsChange,
  requireString,
  splitPemBundle,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import { HemsContext } from '../lib/context';
import { HOME_REF_SECRET_KEY, KeyType } from '../lib/keys';
import { loadRevocations, requireTransient } from '../lib/ledger';
import { drain, readPrivate, readState, writeState } from '../lib/state';
import {
  enrolmentFromBytes,
  orgCertificatesFromBytes,
  proposalFromBytes,
  type EnrolmentRecord,
  type OrgCertificatesRecord,
  type RevocationsRecord,
  type SettingsProposal,
} from '../model/governance';

export const MAX_CA_BUNDLE_BYTES = 64 * 1024;
export const MAX_CA_CERTIFICATES = 10;
export const MAX_REVOCATIONS = 100000;
export const MAX_ENROLLED_HOMES = 1000000;
export const MAX_BUSES_PER_ORG = 1000;
export const MIN_SECRET_BYTES = 32;
export const MAX_SECRET_BYTES = 64;

/**
 * Organization administration and channel settings: the trust anchors the timeslot contract relies
 * on (each utility's CA certificates, its revocations, its enrolled homes per bus, its secret for
 * home references) and the channel-wide settings that protect homes, which change only by a
 * majority of the member organizations.
 */
@Info({
  title: 'GovernanceContract',
  description: 'Org CA registration, revocation, enrolment and channel settings',
})
export class GovernanceContract extends Contract {
  constructor() {
    super('governance');
  }

  override createContext(): HemsContext {
    return new HemsContext();
  }

  /** Registers (or rotates, by replacing) the caller's utility CA certificates that issue device certificates. */
  @Transaction()
  @Param('certificates', 'string', 'PEM bundle of 1-10 CA certificates')
  @Returns('string')
  async RegisterOrgCAs(ctx: HemsContext, certificates: string): Promise<string> {
    const caller = await ctx.requireUtilityAdmin('RegisterOrgCAs');
    const bundle = requireString(certificates, 'certificates');
    if (Buffer.byteLength(bundle, 'utf8') > MAX_CA_BUNDLE_BYTES) {
      throw invalidArgument(`certificates must be at most ${MAX_CA_BUNDLE_BYTES} bytes`);
    }
    const pems = splitPemBundle(bundle);
    if (pems.length === 0 || pems.length > MAX_CA_CERTIFICATES) {
      throw invalidArgument(`certificates must hold 1-${MAX_CA_CERTIFICATES} PEM certificates`);
    }
    const now = ctx.now;
    const parsed = pems.map((pem, index) => {
      const certificate = parseCertificate(pem, `certificates[${index}]`);
      if (!certificate.ca) {
        throw invalidArgument(`certificates[${index}] is not a CA certificate (basicConstraints CA:TRUE)`);
      }
      if (now > new Date(certificate.validTo) || now < new Date(certificate.validFrom)) {
        throw invalidArgument(`certificates[${index}] is not valid at the transaction time`);
      }
      return certificate;
    });
    const fingerprints = parsed.map((certificate) => certificate.fingerprint256);
    if (new Set(fingerprints).size !== fingerprints.length) {
      throw invalidArgument('certificates lists the same certificate twice');
    }
    const record: OrgCertificatesRecord = {
      mspId: caller.mspId,
      certificates: parsed.map((certificate) => certificate.toString()),
      fingerprints,
      registeredAt: isoTime(now),
      txId: ctx.stub.getTxID(),
    };
    await writeState(ctx.stub, ctx.keys.orgCertificates(caller.mspId), record);
    return canonicalJson(record);
  }

  @Transaction(false)
  @Param('mspId', 'string', 'utility MSP id')
  @Returns('string')
  async GetOrgCAs(ctx: HemsContext, mspId: string): Promise<string> {
    await ctx.requireMember('GetOrgCAs');
    const org = parseMspId(mspId);
    const bytes = await readState(ctx.stub, ctx.keys.orgCertificates(org));
    if (bytes === undefined) {
      throw notFound(`${org} has not registered CA certificates`);
    }
    return canonicalJson(orgCertificatesFromBytes(bytes));
  }

  /** Revokes a device certificate of the caller's utility by serial number (hex, as the CA reports it). */
  @Transaction()
  @Param('serial', 'string', 'certificate serial number in hexadecimal')
  @Param('reason', 'string', 'revocation reason (may be empty)')
  @Returns('string')
  async RevokeDeviceCertificate(ctx: HemsContext, serial: string, reason: string): Promise<string> {
    const caller = await ctx.requireUtilityAdmin('RevokeDeviceCertificate');
    const normalized = normalizeSerial(requireString(serial, 'serial'));
    const why = requireString(reason, 'reason');
    // eslint-disable-next-line no-control-regex
    if (why.length > 200 || /[\u0000-\u001f\u007f]/.test(why)) {
      throw invalidArgument('reason must be at most 200 printable characters');
    }
    const current = await loadRevocations(ctx, caller.mspId);
    if (current.revoked.some((entry) => entry.serial === normalized)) {
      throw conflict(`certificate ${normalized} of ${caller.mspId} is already revoked`);
    }
    if (current.revoked.length >= MAX_REVOCATIONS) {
      throw invalidArgument(
        `${caller.mspId} has reached ${MAX_REVOCATIONS} revocations; rotate its CA instead`,
      );
    }
    const revoked = [
      ...current.revoked,
      { serial: normalized, revokedAt: isoTime(ctx.now), reason: why },
    ].sort((a, b) => (a.serial < b.serial ? -1 : 1));
    const record: RevocationsRecord = { mspId: caller.mspId, revoked };
    await writeState(ctx.stub, ctx.keys.revocations(caller.mspId), record);
    return canonicalJson({ mspId: caller.mspId, serial: normalized, revoked: revoked.length });
  }

  @Transaction(false)
  @Param('mspId', 'string', 'utility MSP id')
  @Returns('string')
  async GetRevocations(ctx: HemsContext, mspId: string): Promise<string> {
    await ctx.requireMember('GetRevocations');
    return canonicalJson(await loadRevocations(ctx, parseMspId(mspId)));
  }

  /** Number of homes of the caller's utility enrolled on a bus; a slot's early close waits for them all. */
  @Transaction()
  @Param('bus', 'string', 'feeder bus identifier')
  @Param('homes', 'string', 'number of enrolled homes, 0 to remove the bus')
  @Returns('string')
  async SetEnrolledHomes(ctx: HemsContext, bus: string, homes: string): Promise<string> {
    const caller = await ctx.requireUtilityAdmin('SetEnrolledHomes');
    const busId = parseBusId(bus);
    // Every OpenSlot snapshots all enrolled buses: their number must stay bounded.
    const known = await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.enrolment, [caller.mspId]));
    if (
      known.length >= MAX_BUSES_PER_ORG &&
      !known.some((row) => enrolmentFromBytes(row.value).bus === busId)
    ) {
      throw invalidArgument(`${caller.mspId} has reached ${MAX_BUSES_PER_ORG} enrolled buses`);
    }
    const record: EnrolmentRecord = {
      org: caller.mspId,
      bus: busId,
      homes: parseIntegerArgument(homes, 'homes', 0, MAX_ENROLLED_HOMES),
      updatedAt: isoTime(ctx.now),
    };
    await writeState(ctx.stub, ctx.keys.enrolment(record.org, record.bus), record);
    return canonicalJson(record);
  }

  @Transaction(false)
  @Returns('string')
  async GetEnrolment(ctx: HemsContext): Promise<string> {
    await ctx.requireMember('GetEnrolment');
    const rows = await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.enrolment, []));
    return canonicalJson({ enrolment: rows.map((row) => enrolmentFromBytes(row.value)) });
  }

  /**
   * Stores the utility's secret for home references (transient field `secret`, 32-64 random
   * bytes) in its own collection. Set once: a new secret would give every home a new reference
   * in the middle of open slots.
   */
  @Transaction()
  @Returns('string')
  async SetHomeRefSecret(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('SetHomeRefSecret', ['admin']);
    const secret = requireTransient(ctx, 'secret', MAX_SECRET_BYTES);
    if (secret.length < MIN_SECRET_BYTES) {
      throw invalidArgument(
        `transient field 'secret' must be ${MIN_SECRET_BYTES}-${MAX_SECRET_BYTES} random bytes`,
      );
    }
    const collection = collectionOf(caller.mspId);
    if ((await readPrivate(ctx.stub, collection, HOME_REF_SECRET_KEY)) !== undefined) {
      throw conflict(`${caller.mspId} has already set its home-reference secret`);
    }
    await ctx.stub.putPrivateData(collection, HOME_REF_SECRET_KEY, secret);
    return canonicalJson({ mspId: caller.mspId, collection });
  }

  @Transaction(false)
  @Returns('string')
  async GetSettings(ctx: HemsContext): Promise<string> {
    await ctx.requireMember('GetSettings');
    const settings = await ctx.settings();
    return canonicalJson({ ...settings, approvalQuorum: approvalQuorum(settings) });
  }

  /** Proposes a change to the channel settings; the proposer's org counts as the first approval. */
  @Transaction()
  @Param('proposalId', 'string', 'identifier chosen by the proposer')
  @Param('change', 'string', 'JSON object with the fields to change')
  @Returns('string')
  async ProposeSettings(ctx: HemsContext, proposalId: string, change: string): Promise<string> {
    const caller = await ctx.requireOrgAdmin('ProposeSettings');
    const id = parseProposalId(proposalId);
    const parsedChange = parseSettingsChange(parseJsonArgument(change, 'change', 16 * 1024));
    // Validate the result now, so a proposal that could never apply is refused up front.
    applySettingsChange(await ctx.settings(), parsedChange);
    const key = ctx.keys.settingsProposal(id);
    if ((await readState(ctx.stub, key)) !== undefined) {
      throw conflict(`settings proposal ${id} already exists`);
    }
    const proposal: SettingsProposal = {
      proposalId: id,
      change: parsedChange,
      proposedBy: caller.mspId,
      approvals: [caller.mspId],
      status: 'PENDING',
      createdAt: isoTime(ctx.now),
    };
    return canonicalJson(await this.applyIfQuorum(ctx, key, proposal));
  }

  /** Approves a pending proposal for the caller's org; the change applies at a majority of member orgs. */
  @Transaction()
  @Param('proposalId', 'string', 'proposal identifier')
  @Returns('string')
  async ApproveSettings(ctx: HemsContext, proposalId: string): Promise<string> {
    const caller = await ctx.requireOrgAdmin('ApproveSettings');
    const id = parseProposalId(proposalId);
    const key = ctx.keys.settingsProposal(id);
    const bytes = await readState(ctx.stub, key);
    if (bytes === undefined) {
      throw notFound(`settings proposal ${id} does not exist`);
    }
    const proposal = proposalFromBytes(bytes);
    if (proposal.status !== 'PENDING') {
      throw conflict(`settings proposal ${id} is already applied`);
    }
    if (proposal.approvals.includes(caller.mspId)) {
      throw conflict(`${caller.mspId} has already approved settings proposal ${id}`);
    }
    const approvals = [...proposal.approvals, caller.mspId].sort();
    return canonicalJson(await this.applyIfQuorum(ctx, key, { ...proposal, approvals }));
  }

  private async applyIfQuorum(
    ctx: HemsContext,
    key: string,
    proposal: SettingsProposal,
  ): Promise<SettingsProposal> {
    const settings = await ctx.settings();
    const members = memberOrgs(settings);
    const valid = proposal.approvals.filter((org) => members.includes(org));
    if (valid.length < approvalQuorum(settings)) {
      await writeState(ctx.stub, key, proposal);
      return proposal;
    }
    const next = applySettingsChange(settings, proposal.change);
    const applied: SettingsProposal = {
      ...proposal,
      status: 'APPLIED',
      appliedAt: isoTime(ctx.now),
      appliedVersion: next.version,
    };
    await writeState(ctx.stub, ctx.keys.settings(), next);
    await writeState(ctx.stub, key, applied);
    return applied;
  }

  @Transaction(false)
  @Param('proposalId', 'string', 'proposal identifier')
  @Returns('string')
  async GetSettingsProposal(ctx: HemsContext, proposalId: string): Promise<string> {
    await ctx.requireMember('GetSettingsProposal');
    const id = parseProposalId(proposalId);
    const bytes = await readState(ctx.stub, ctx.keys.settingsProposal(id));
    if (bytes === undefined) {
      throw notFound(`settings proposal ${id} does not exist`);
    }
    return canonicalJson(proposalFromBytes(bytes));
  }
}
