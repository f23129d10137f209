import { invalidArgument, parseBusId, parseIntegerArgument } from '@hems/protocol';
import { isoTime } from '../lib/clock';
import type { HemsContext } from '../lib/context';
import { KeyType } from '../lib/keys';
import { drain, writeState } from '../lib/state';
import { enrolmentFromBytes, type EnrolmentRecord } from './records';

export const MAX_ENROLLED_HOMES = 1000000;
export const MAX_BUSES_PER_ORG = 1000;

/** Sets the number of homes of `org` enrolled on a bus; a slot's early close waits for them all. */
export async function setEnrolledHomes(
  ctx: HemsContext,
  org: string,
  bus: string,
  homes: string,
): Promise<EnrolmentRecord> {
  const busId = parseBusId(bus);
  // Every OpenSlot snapshots all enrolled buses: their number must stay bounded.
  const known = await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.enrolment, [org]));
  if (
    known.length >= MAX_BUSES_PER_ORG &&
    !known.some((row) => enrolmentFromBytes(row.value).bus === busId)
  ) {
    throw invalidArgument(`${org} has reached ${MAX_BUSES_PER_ORG} enrolled buses`);
  }
  const record: EnrolmentRecord = {
    org,
    bus: busId,
    homes: parseIntegerArgument(homes, 'homes', 0, MAX_ENROLLED_HOMES),
    updatedAt: isoTime(ctx.now),
  };
  await writeState(ctx.stub, ctx.keys.enrolment(record.org, record.bus), record);
  return record;
}

/** Every enrolment record of the channel, in key order (org, bus). */
export async function loadEnrolment(ctx: HemsContext): Promise<EnrolmentRecord[]> {
  const rows = await drain(ctx.stub.getStateByPartialCompositeKey(KeyType.enrolment, []));
  return rows.map((row) => enrolmentFromBytes(row.value));
}
