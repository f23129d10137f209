import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connectAs, type FabricConnection } from './connection';
import { chaincodeRefusal } from './errors';
import type { NetworkDescription } from './network-description';
import { waitForEndorsers } from './readiness';
import { evaluateJson, submitJson } from './transactions';

interface Settings {
  readonly utilityMspIds: readonly string[];
}

interface OrgCertificates {
  readonly certificates: readonly string[];
}

interface Enrolment {
  readonly enrolment: readonly { org: string; bus: string; homes: number }[];
}

/** Homes per bus of an org, counted from the HEMS device identities its CA enrolled. */
export function enrolledHomesByBus(description: NetworkDescription, mspId: string): Map<string, number> {
  const homes = new Map<string, number>();
  for (const identity of description.identities) {
    const bus = identity.attributes['hems.bus'];
    if (identity.mspId === mspId && identity.attributes['hems.role'] === 'hems' && bus !== undefined) {
      homes.set(bus, (homes.get(bus) ?? 0) + 1);
    }
  }
  return homes;
}

async function ignoringConflict(action: () => Promise<unknown>): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (error) {
    if (chaincodeRefusal(error)?.code === 'CONFLICT') {
      return false;
    }
    throw error;
  }
}

/**
 * Registers each utility's trust anchors in the chaincode, as its own admin: the CA certificate
 * that issues its device certificates, its secret for home references (in its own collection)
 * and its enrolled homes per bus. Safe to run again: it changes only what differs.
 */
export async function bootstrapChaincode(
  description: NetworkDescription,
  log: (line: string) => void = console.log,
): Promise<void> {
  // Every org's gateway peer must be able to plan a channel-wide endorsement before anything is
  // submitted through it.
  for (const peer of description.peers) {
    const admin = connectAs(description, { mspId: peer.mspId, identity: 'orgadmin' });
    try {
      const waited = await waitForEndorsers(admin);
      log(`${peer.mspId}: its peer can plan endorsements (waited ${waited} ms for gossip)`);
    } finally {
      admin.close();
    }
  }
  const probe = connectAs(description, { mspId: 'DSOMSP', identity: 'orgadmin' });
  let utilities: readonly string[];
  try {
    utilities = (await evaluateJson<Settings>(probe.contract('governance'), 'GetSettings')).utilityMspIds;
  } finally {
    probe.close();
  }

  for (const mspId of utilities) {
    const ca = description.certificateAuthorities.find((candidate) => candidate.mspId === mspId);
    if (ca === undefined) {
      log(`${mspId}: no CA in this network, skipped`);
      continue;
    }
    const admin: FabricConnection = connectAs(description, { mspId, identity: 'orgadmin' });
    try {
      const governance = admin.contract('governance');
      const caPem = readFileSync(ca.tlsCertPath, 'utf8');
      let registered: readonly string[] = [];
      try {
        registered = (await evaluateJson<OrgCertificates>(governance, 'GetOrgCAs', [mspId])).certificates;
      } catch (error) {
        if (chaincodeRefusal(error)?.code !== 'NOT_FOUND') {
          throw error;
        }
      }
      if (registered.length !== 1 || registered[0]?.trim() !== caPem.trim()) {
        await submitJson(governance, 'RegisterOrgCAs', { args: [caPem] });
        log(`${mspId}: registered its CA certificate`);
      }

      const secretSet = await ignoringConflict(() =>
        submitJson(governance, 'SetHomeRefSecret', {
          transientData: { secret: randomBytes(32) },
          endorsingOrganizations: [mspId],
        }),
      );
      log(`${mspId}: home-reference secret ${secretSet ? 'set' : 'already set'}`);

      const current = await evaluateJson<Enrolment>(governance, 'GetEnrolment');
      for (const [bus, homes] of enrolledHomesByBus(description, mspId)) {
        const known = current.enrolment.find((entry) => entry.org === mspId && entry.bus === bus)?.homes;
        if (known !== homes) {
          await submitJson(governance, 'SetEnrolledHomes', { args: [bus, String(homes)] });
          log(`${mspId}: ${homes} homes enrolled on ${bus}`);
        }
      }
    } finally {
      admin.close();
    }
  }
}
