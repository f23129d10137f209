import { expect } from 'chai';
import {
  backfillLanes,
  majorityWithOwnOrg,
  nextFreeWindow,
  rewardBatches,
} from '../../scripts/bench/lib/dr-batches';

describe('bench demand-response batches', () => {
  it('backfills every day of every home once, in batches of at most the batch size', () => {
    const lanes = backfillLanes(37, 45, 200, 8);
    expect(lanes).to.have.length(8);
    const seen = new Set<string>();
    for (const lane of lanes) {
      for (const batch of lane) {
        expect(batch.length).to.be.within(1, 200);
        for (const { home, day } of batch) {
          const key = `${home}/${day}`;
          expect(seen.has(key), key).to.equal(false);
          seen.add(key);
        }
      }
    }
    expect(seen.size).to.equal(37 * 45);
  });

  it('keeps each home in one lane, its days in order, over at most two consecutive batches', () => {
    const lanes = backfillLanes(100, 46, 200, 6);
    const laneOf = new Map<number, number>();
    for (const [laneIndex, lane] of lanes.entries()) {
      const batchesOf = new Map<number, number[]>();
      const lastDay = new Map<number, number>();
      for (const [batchIndex, batch] of lane.entries()) {
        for (const { home, day } of batch) {
          expect(laneOf.get(home) ?? laneIndex).to.equal(laneIndex);
          laneOf.set(home, laneIndex);
          expect(day).to.equal((lastDay.get(home) ?? -1) + 1);
          lastDay.set(home, day);
          const batches = batchesOf.get(home) ?? [];
          if (batches[batches.length - 1] !== batchIndex) {
            batches.push(batchIndex);
          }
          batchesOf.set(home, batches);
        }
      }
      for (const batches of batchesOf.values()) {
        expect(batches.length).to.be.at.most(2);
        if (batches.length === 2) {
          expect(batches[1]).to.equal((batches[0] ?? 0) + 1);
        }
      }
    }
    expect(laneOf.size).to.equal(100);
    // Lanes of near-equal size: 100 homes in 6 lanes of 16 or 17.
    for (const lane of lanes) {
      const homes = new Set(lane.flat().map((item) => item.home));
      expect(homes.size).to.be.within(16, 17);
    }
  });

  it('uses no more lanes than homes and fills full batches', () => {
    const lanes = backfillLanes(3, 45, 200, 8);
    expect(lanes).to.have.length(3);
    expect(lanes.map((lane) => lane.map((batch) => batch.length))).to.deep.equal([[45], [45], [45]]);
    expect(backfillLanes(10, 45, 200, 1)[0]?.map((batch) => batch.length)).to.deep.equal([200, 200, 50]);
    expect(() => backfillLanes(0, 45, 200, 8)).to.throw(RangeError, 'homes');
    expect(() => backfillLanes(10, 45, 0, 8)).to.throw(RangeError, 'batchItems');
  });

  it('cuts reward batches of consecutive, distinct homes, as many as the homes fill', () => {
    expect(rewardBatches(10, 3, 5)).to.deep.equal([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    expect(rewardBatches(2000, 500, 10)).to.have.length(4);
    expect(rewardBatches(2000, 1, 10)).to.deep.equal([[0], [1], [2], [3], [4], [5], [6], [7], [8], [9]]);
    expect(rewardBatches(100, 500, 10)).to.deep.equal([]);
    expect(() => rewardBatches(10, 0, 1)).to.throw(RangeError, 'size');
  });

  it('finds the first free window from the preferred interval on, then from the first', () => {
    const bounds = { first: 16, preferred: 68, last: 96 };
    expect(nextFreeWindow([], 2, bounds)).to.deep.equal({ start: 68, end: 70 });
    // Another run's event at 17:00-17:30 and one at 17:45-18:00.
    expect(
      nextFreeWindow(
        [
          { start: 68, end: 70 },
          { start: 71, end: 72 },
        ],
        2,
        bounds,
      ),
    ).to.deep.equal({ start: 72, end: 74 });
    // An event that overlaps the preferred start only partly.
    expect(nextFreeWindow([{ start: 60, end: 69 }], 2, bounds)).to.deep.equal({ start: 69, end: 71 });
    // The evening full: back to the start of the bounds, never before it.
    expect(nextFreeWindow([{ start: 68, end: 96 }], 2, bounds)).to.deep.equal({ start: 16, end: 18 });
    expect(
      nextFreeWindow(
        [
          { start: 0, end: 17 },
          { start: 68, end: 96 },
        ],
        2,
        bounds,
      ),
    ).to.deep.equal({
      start: 17,
      end: 19,
    });
    // A window may end with the day, not after it; none left in a full day.
    expect(nextFreeWindow([{ start: 68, end: 94 }], 2, bounds)).to.deep.equal({ start: 94, end: 96 });
    expect(nextFreeWindow([{ start: 0, end: 96 }], 2, bounds)).to.equal(undefined);
    expect(
      nextFreeWindow(
        [
          { start: 0, end: 67 },
          { start: 68, end: 96 },
        ],
        2,
        bounds,
      ),
    ).to.equal(undefined);
  });

  it("picks a majority of the channel's orgs with the own org first, DSOs and auditors next", () => {
    const roster = {
      dsoMspIds: ['DSOMSP'],
      utilityMspIds: ['UtilityAMSP', 'UtilityBMSP'],
      auditorMspIds: ['RegulatorMSP'],
    };
    expect(majorityWithOwnOrg('UtilityAMSP', roster)).to.deep.equal([
      'UtilityAMSP',
      'DSOMSP',
      'RegulatorMSP',
    ]);
    expect(
      majorityWithOwnOrg('UtilityBMSP', {
        ...roster,
        utilityMspIds: [...roster.utilityMspIds, 'UtilityCMSP'],
      }),
    ).to.deep.equal(['UtilityBMSP', 'DSOMSP', 'RegulatorMSP']);
    expect(
      majorityWithOwnOrg('UtilityAMSP', {
        dsoMspIds: [],
        utilityMspIds: ['UtilityAMSP', 'UtilityBMSP'],
        auditorMspIds: [],
      }),
    ).to.deep.equal(['UtilityAMSP', 'UtilityBMSP']);
    expect(() => majorityWithOwnOrg('OtherMSP', roster)).to.throw('not a peer org');
  });
});
