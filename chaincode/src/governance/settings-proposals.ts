import {
  applySettingsChange,
  approvalQuorum,
  conflict,
  memberOrgs,
  notFound,
  parseJsonArgument,
  parseSettingsChange,
} from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { readState, writeState } from '../lib/state';
import { proposalFromBytes, type SettingsProposal } from './records';

/**
 * Channel settings change only by a majority of the member organizations: a proposal collects
 * approvals and applies once they reach the quorum.
 */

/** Proposes a change; the proposer's org counts as the first approval. */
export async function proposeSettings(
  ctx: HemsContext,
  org: string,
  proposalId: string,
  change: string,
): Promise<SettingsProposal> {
  const parsedChange = parseSettingsChange(parseJsonArgument(change, 'change', 16 * 1024));
  // Validate the result now, so a proposal that could never apply is refused up front.
  applySettingsChange(await ctx.settings(), parsedChange);
  const key = ctx.keys.settingsProposal(proposalId);
  if ((await readState(ctx.stub, key)) !== undefined) {
    throw conflict(`settings proposal ${proposalId} already exists`);
  }
  const proposal: SettingsProposal = {
    proposalId,
    change: parsedChange,
    proposedBy: org,
    approvals: [org],
    status: 'PENDING',
    createdAt: isoTime(ctx.now),
  };
  return applyIfQuorum(ctx, proposal);
}

/** Approves a pending proposal for `org`; the change applies at a majority of member orgs. */
export async function approveSettings(
  ctx: HemsContext,
  org: string,
  proposalId: string,
): Promise<SettingsProposal> {
  const proposal = await loadProposal(ctx, proposalId);
  if (proposal.status !== 'PENDING') {
    throw conflict(`settings proposal ${proposalId} is already applied`);
  }
  if (proposal.approvals.includes(org)) {
    throw conflict(`${org} has already approved settings proposal ${proposalId}`);
  }
  const approvals = [...proposal.approvals, org].sort();
  return applyIfQuorum(ctx, { ...proposal, approvals });
}

export async function loadProposal(ctx: HemsContext, proposalId: string): Promise<SettingsProposal> {
  const bytes = await readState(ctx.stub, ctx.keys.settingsProposal(proposalId));
  if (bytes === undefined) {
    throw notFound(`settings proposal ${proposalId} does not exist`);
  }
  return proposalFromBytes(bytes);
}

/** Stores the proposal, applied to the settings once its approvals reach the quorum. */
async function applyIfQuorum(ctx: HemsContext, proposal: SettingsProposal): Promise<SettingsProposal> {
  const key = ctx.keys.settingsProposal(proposal.proposalId);
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
