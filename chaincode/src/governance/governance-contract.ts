import { Info, Param, Returns, Transaction } from 'fabric-contract-api';
import { approvalQuorum, canonicalJson, parseMspId, parseProposalId } from '@hems/protocol';
import { HemsContext } from '../lib/context';
import { HemsContract } from '../lib/contract';
import { loadEnrolment, setEnrolledHomes } from './enrolment';
import { loadRevocations } from './records';
import { approveSettings, loadProposal, proposeSettings } from './settings-proposals';
import { orgCertificatesOf, registerOrgCAs, revokeDeviceCertificate, setHomeRefSecret } from './trust';
import { listVens, loadVen, registerVen, revokeVen } from './vens';

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
export class GovernanceContract extends HemsContract {
  constructor() {
    super('governance');
  }

  /** Registers (or rotates, by replacing) the caller's utility CA certificates that issue device certificates. */
  @Transaction()
  @Param('certificates', 'string', 'PEM bundle of 1-10 CA certificates')
  @Returns('string')
  async RegisterOrgCAs(ctx: HemsContext, certificates: string): Promise<string> {
    const caller = await ctx.requireUtilityAdmin('RegisterOrgCAs');
    return canonicalJson(await registerOrgCAs(ctx, caller.mspId, certificates));
  }

  @Transaction(false)
  @Param('mspId', 'string', 'utility MSP id')
  @Returns('string')
  async GetOrgCAs(ctx: HemsContext, mspId: string): Promise<string> {
    await ctx.requireMember('GetOrgCAs');
    return canonicalJson(await orgCertificatesOf(ctx, parseMspId(mspId)));
  }

  /** Revokes a device certificate of the caller's utility by serial number (hex, as the CA reports it). */
  @Transaction()
  @Param('serial', 'string', 'certificate serial number in hexadecimal')
  @Param('reason', 'string', 'revocation reason (may be empty)')
  @Returns('string')
  async RevokeDeviceCertificate(ctx: HemsContext, serial: string, reason: string): Promise<string> {
    const caller = await ctx.requireUtilityAdmin('RevokeDeviceCertificate');
    return canonicalJson(await revokeDeviceCertificate(ctx, caller.mspId, serial, reason));
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
    return canonicalJson(await setEnrolledHomes(ctx, caller.mspId, bus, homes));
  }

  @Transaction(false)
  @Returns('string')
  async GetEnrolment(ctx: HemsContext): Promise<string> {
    await ctx.requireMember('GetEnrolment');
    return canonicalJson({ enrolment: await loadEnrolment(ctx) });
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
    return canonicalJson(await setHomeRefSecret(ctx, caller.mspId));
  }

  /**
   * Registers an OpenADR VEN of one of the caller's homes (transient `ven`: client id, VEN id and
   * name, the home's certificate and the scrypt hash of its client secret) in the utility's own
   * collection, where every gateway instance of the utility finds it.
   */
  @Transaction()
  @Returns('string')
  async RegisterVen(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('RegisterVen', ['admin']);
    return canonicalJson(await registerVen(ctx, caller.mspId));
  }

  /** Revokes a VEN's credentials (transient `clientId`). */
  @Transaction()
  @Returns('string')
  async RevokeVen(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('RevokeVen', ['admin']);
    return canonicalJson(await revokeVen(ctx, caller.mspId));
  }

  /** A VEN's record with its secret hash (transient `clientId`): for the utility's gateway. */
  @Transaction(false)
  @Returns('string')
  async GetVen(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('GetVen', ['relay', 'admin']);
    const clientId = Buffer.from(ctx.stub.getTransient().get('clientId') ?? []).toString('utf8');
    return canonicalJson(await loadVen(ctx, caller.mspId, clientId));
  }

  /** The caller's utility's VENs, without secret hashes or certificates. */
  @Transaction(false)
  @Returns('string')
  async ListVens(ctx: HemsContext): Promise<string> {
    const caller = await ctx.requireUtilityRoleOnOwnPeer('ListVens', ['relay', 'admin']);
    return canonicalJson({ vens: await listVens(ctx, caller.mspId) });
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
    return canonicalJson(await proposeSettings(ctx, caller.mspId, id, change));
  }

  /** Approves a pending proposal for the caller's org; the change applies at a majority of member orgs. */
  @Transaction()
  @Param('proposalId', 'string', 'proposal identifier')
  @Returns('string')
  async ApproveSettings(ctx: HemsContext, proposalId: string): Promise<string> {
    const caller = await ctx.requireOrgAdmin('ApproveSettings');
    return canonicalJson(await approveSettings(ctx, caller.mspId, parseProposalId(proposalId)));
  }

  @Transaction(false)
  @Param('proposalId', 'string', 'proposal identifier')
  @Returns('string')
  async GetSettingsProposal(ctx: HemsContext, proposalId: string): Promise<string> {
    await ctx.requireMember('GetSettingsProposal');
    return canonicalJson(await loadProposal(ctx, parseProposalId(proposalId)));
  }
}
