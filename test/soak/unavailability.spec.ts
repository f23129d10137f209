import { expect } from 'chai';
import {
  faultWindows,
  longestGap,
  unavailabilityPerFault,
  type LoadEvent,
} from '../../scripts/soak/unavailability';

describe('soak unavailability', () => {
  it('measures the longest stretch without a commit from the kill to the end of the window', () => {
    // Kill at 100; commits at 90 (before), 104, 130, 131; window ends at 140.
    expect(longestGap([131, 90, 104, 130], 100, 140)).to.deep.equal({
      longestMs: 26,
      from: 104,
      recovered: true,
    });
  });

  it('counts from the kill to the first commit after it', () => {
    expect(longestGap([50, 160, 170], 100, 180)).to.deep.equal({ longestMs: 60, from: 100, recovered: true });
  });

  it('counts load that never came back up to the end of the window', () => {
    expect(longestGap([10, 20], 100, 180)).to.deep.equal({ longestMs: 80, from: 100, recovered: false });
    expect(longestGap([110], 100, 180)).to.deep.equal({ longestMs: 70, from: 110, recovered: true });
    expect(() => longestGap([], 10, 5)).to.throw(RangeError);
  });

  it('splits the run into windows from each fault to the next', () => {
    expect(
      faultWindows(
        [
          { number: 1, startAt: 100 },
          { number: 2, startAt: 250 },
        ],
        400,
      ),
    ).to.deep.equal([
      { number: 1, startAt: 100, endAt: 250 },
      { number: 2, startAt: 250, endAt: 400 },
    ]);
  });

  it('reports each utility apart, with the failed requests inside the window', () => {
    const events: LoadEvent[] = [
      { at: 95, mspId: 'A', kind: 'commit' },
      { at: 101, mspId: 'A', kind: 'failure' },
      { at: 102, mspId: 'A', kind: 'failure' },
      { at: 105, mspId: 'B', kind: 'commit' },
      { at: 110, mspId: 'B', kind: 'commit' },
      { at: 140, mspId: 'A', kind: 'commit' },
      { at: 150, mspId: 'B', kind: 'commit' },
      { at: 151, mspId: 'A', kind: 'failure' },
    ];
    const [fault] = unavailabilityPerFault(events, [{ number: 1, startAt: 100, endAt: 150 }], ['A', 'B']);
    expect(fault?.byOrg.A).to.deep.equal({ longestMs: 40, from: 100, recovered: true });
    expect(fault?.byOrg.B).to.deep.equal({ longestMs: 40, from: 110, recovered: true });
    expect(fault?.longestMs).to.equal(40);
    expect(fault?.failures).to.deep.equal({ A: 2, B: 0 });
  });
});
