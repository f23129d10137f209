import { Context } from 'fabric-contract-api';
import { transactionTime } from './clock';
import {
  type ChannelSettings,
  DEFAULT_SETTINGS,
  failedPrecondition,
  forbidden,
  memberOrgs,
  settingsFromBytes,
} from '@hems/protocol';
import { Keys } from './keys';
import { readState } from './state';

/** Roles carried in the `hems.role` attribute of MSP-issued certificates. */
export type HemsRole = 'dso' | 'market' | 'relay' | 'meter' | 'auditor' | 'admin' | 'hems';

export const ROLE_ATTRIBUTE = 'hems.role';

/** The identity that submitted the proposal, as Fabric authenticated it. */
export interface Caller {
  readonly mspId: string;
  readonly role: string | null;
  /**
   * An org administrator: hems.role=admin, an attribute only the org's registrar can put in an
   * enrolment certificate. The subject's OUs are not used: subject fields can come from the
   * enrollee's CSR, and the shim's ID string does not escape them reliably.
   */
  readonly isAdmin: boolean;
}

/**
 * Per-transaction context. Authorization is by MSP id plus certificate attribute, never by an
 * argument that names the caller. Settings are read once per transaction.
 */
/** How far a deadline-driven step's transaction time may be from an endorsing peer's clock. */
export const MAX_TX_CLOCK_SKEW_MS = 120_000;

export class HemsContext extends Context {
  private cachedSettings: ChannelSettings | undefined;
  private cachedKeys: Keys | undefined;

  get keys(): Keys {
    this.cachedKeys ??= new Keys(this.stub);
    return this.cachedKeys;
  }

  get now(): Date {
    return transactionTime(this.stub);
  }

  /**
   * The endorsing peer's own clock (its chaincode server's). Only `requireTimely` reads it: every
   * result stays a function of the transaction time. Tests set it.
   */
  peerClock: () => Date = () => new Date();

  /**
   * For the majority-endorsed steps that a deadline opens (a closure, a clearing without some
   * utilities, a dispatch without some aggregates, a grid share before settlement) or closes (a
   * commitment): the client sets the transaction time, so a forward- or back-dated proposal could
   * otherwise open or keep open a deadline at will. Each honest endorser refuses a transaction
   * time further than MAX_TX_CLOCK_SKEW_MS from its own clock; a majority of them is needed.
   */
  requireTimely(action: string): void {
    const skew = this.now.getTime() - this.peerClock().getTime();
    if (Math.abs(skew) > MAX_TX_CLOCK_SKEW_MS) {
      throw failedPrecondition(
        `${action}: the transaction time ${this.now.toISOString()} is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'ahead of' : 'behind'} this peer's clock (at most ${MAX_TX_CLOCK_SKEW_MS / 1000} s): steps that a deadline opens or closes are endorsed only at their time`,
      );
    }
  }

  /** MSP of the peer executing this proposal (CORE_PEER_LOCALMSPID of the chaincode server). */
  get peerMspId(): string {
    return this.stub.getMspID();
  }

  async settings(): Promise<ChannelSettings> {
    if (this.cachedSettings === undefined) {
      const bytes = await readState(this.stub, this.keys.settings());
      this.cachedSettings = bytes === undefined ? DEFAULT_SETTINGS : settingsFromBytes(bytes);
    }
    return this.cachedSettings;
  }

  get caller(): Caller {
    const mspId = this.clientIdentity.getMSPID();
    const role = this.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE);
    return { mspId, role, isAdmin: role === 'admin' };
  }

  /** Caller must be a DSO operator: a DSO MSP and hems.role=dso. */
  async requireDso(action: string): Promise<Caller> {
    const caller = this.caller;
    const settings = await this.settings();
    if (!settings.dsoMspIds.includes(caller.mspId) || caller.role !== 'dso') {
      throw forbidden(`${action} is for DSO operators (a DSO MSP with ${ROLE_ATTRIBUTE}=dso)`);
    }
    return caller;
  }

  /** Caller must be the market operator of the energy auction: a DSO MSP and hems.role=market. */
  async requireMarketOperator(action: string): Promise<Caller> {
    const caller = this.caller;
    const settings = await this.settings();
    if (!settings.dsoMspIds.includes(caller.mspId) || caller.role !== 'market') {
      throw forbidden(`${action} is for the market operator (a DSO MSP with ${ROLE_ATTRIBUTE}=market)`);
    }
    return caller;
  }

  /** True for an auditor: an auditor MSP and hems.role=auditor. */
  async isAuditor(caller: Caller): Promise<boolean> {
    return (await this.settings()).auditorMspIds.includes(caller.mspId) && caller.role === 'auditor';
  }

  /** Caller must belong to an org of the channel (any role). */
  async requireMember(action: string): Promise<Caller> {
    const caller = this.caller;
    if (!memberOrgs(await this.settings()).includes(caller.mspId)) {
      throw forbidden(`${action} is for members of the channel's organizations`);
    }
    return caller;
  }

  /** Caller must be an administrator of a member org. */
  async requireOrgAdmin(action: string): Promise<Caller> {
    const caller = await this.requireMember(action);
    if (!caller.isAdmin) {
      throw forbidden(`${action} is for organization administrators`);
    }
    return caller;
  }

  /** Caller must be an administrator of a utility org. */
  async requireUtilityAdmin(action: string): Promise<Caller> {
    const caller = this.caller;
    if (!(await this.settings()).utilityMspIds.includes(caller.mspId) || !caller.isAdmin) {
      throw forbidden(`${action} is for administrators of a utility organization`);
    }
    return caller;
  }

  /**
   * Caller must be a utility identity with one of `roles`, and the proposal must be executing on a
   * peer of the caller's own utility: only that peer holds the utility's private collection, and
   * endorsing there is what keeps the data inside the org.
   */
  async requireUtilityRoleOnOwnPeer(action: string, roles: readonly HemsRole[]): Promise<Caller> {
    const caller = await this.requireUtilityRole(action, roles);
    this.requireOwnPeer(caller, action);
    return caller;
  }

  /** Caller must be a utility identity with one of `roles`, on any peer (it reads no private data). */
  async requireUtilityRole(action: string, roles: readonly HemsRole[]): Promise<Caller> {
    const caller = this.caller;
    const settings = await this.settings();
    const hasRole = roles.some((role) => (role === 'admin' ? caller.isAdmin : caller.role === role));
    if (!settings.utilityMspIds.includes(caller.mspId) || !hasRole) {
      throw forbidden(`${action} is for a utility's ${roles.join(' or ')} identity`);
    }
    return caller;
  }

  requireOwnPeer(caller: Caller, action: string): void {
    if (caller.mspId !== this.peerMspId) {
      throw forbidden(
        `${action} must be endorsed by a peer of the caller's own organization (${caller.mspId})`,
      );
    }
  }
}
