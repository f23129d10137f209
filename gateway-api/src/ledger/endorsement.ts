import { HttpError } from '../http/errors';
import { governance } from './contracts';
import type { Ledger } from './ports';

/** The channel's peer orgs as governance:GetSettings names them. */
interface ChannelRoster {
  readonly dsoMspIds: readonly string[];
  readonly utilityMspIds: readonly string[];
  readonly auditorMspIds: readonly string[];
}

function listOf(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((entry): entry is string => typeof entry === 'string')) {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', `governance:GetSettings answered no ${name} list`);
  }
  return value;
}

function rosterOf(bytes: Uint8Array): ChannelRoster {
  let settings: Record<string, unknown> | null;
  try {
    settings = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown> | null;
  } catch {
    settings = null;
  }
  if (settings === null || typeof settings !== 'object') {
    throw new HttpError(502, 'BAD_LEDGER_RESPONSE', 'governance:GetSettings did not answer an object');
  }
  return {
    dsoMspIds: listOf(settings.dsoMspIds, 'dsoMspIds'),
    utilityMspIds: listOf(settings.utilityMspIds, 'utilityMspIds'),
    auditorMspIds: listOf(settings.auditorMspIds, 'auditorMspIds'),
  };
}

/**
 * The endorsers of a majority-endorsed transaction that must include the gateway's own peer
 * (token:Deposit, docs/auction.md "Endorsement"): an existing home account carries a key-level
 * policy naming only its utility's peer, a new one is checked against the chaincode's MAJORITY
 * policy, so the plan is the own org plus enough other orgs of the channel for a majority. The
 * others are taken DSOs first, then auditors, then the other utilities: the orgs least likely
 * to be busy with the same utility traffic. The roster is read once per ledger, from the channel
 * settings the gateway already trusts for roles.
 */
export class MajorityEndorsers {
  private roster: Promise<ChannelRoster> | undefined;

  constructor(private readonly ledger: Ledger) {}

  async withOwnOrg(): Promise<string[]> {
    const roster = await this.load();
    const orgs = [...new Set([...roster.dsoMspIds, ...roster.utilityMspIds, ...roster.auditorMspIds])];
    if (!orgs.includes(this.ledger.mspId)) {
      throw new HttpError(
        503,
        'UNAVAILABLE',
        `${this.ledger.mspId} is not a peer org of the channel settings: it cannot endorse`,
      );
    }
    const needed = Math.floor(orgs.length / 2) + 1;
    const others = [...roster.dsoMspIds, ...roster.auditorMspIds, ...roster.utilityMspIds].filter(
      (org) => org !== this.ledger.mspId,
    );
    return [...new Set([this.ledger.mspId, ...others])].slice(0, needed);
  }

  private load(): Promise<ChannelRoster> {
    if (this.roster === undefined) {
      const reading = governance(this.ledger, this.ledger.identities[0] ?? 'admin')
        .GetSettings.evaluate()
        .then(rosterOf);
      // A failed read is retried by the next request instead of being remembered.
      reading.catch(() => {
        this.roster = undefined;
      });
      this.roster = reading;
    }
    return this.roster;
  }
}
