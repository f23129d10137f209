import { expect } from 'chai';
import { FAULT_CYCLE, faultSchedule, nextFaultStart } from '../../scripts/soak/fault-schedule';

describe('soak fault schedule', () => {
  it('kills an orderer, a utility peer, its gateway and its chaincode server, in that order', () => {
    const faults = faultSchedule({ durationMs: 600_000, faultEveryMs: 120_000, downMs: 10_000 });
    expect(faults.map((fault) => [fault.number, fault.kind, fault.target, fault.atMs])).to.deep.equal([
      [1, 'orderer', 'orderer1', 120_000],
      [2, 'peer', 'peer0.utilitya', 240_000],
      [3, 'gateway', 'UtilityAMSP', 360_000],
      [4, 'chaincode', 'cc-hems-utilitya', 480_000],
    ]);
    expect(faults.every((fault) => fault.downMs === 10_000)).to.equal(true);
  });

  it('repeats the cycle on a long run and leaves half a period of load after the last restart', () => {
    const faults = faultSchedule({ durationMs: 900_000, faultEveryMs: 120_000, downMs: 10_000 });
    expect(faults.map((fault) => fault.target)).to.deep.equal([
      ...FAULT_CYCLE.map((fault) => fault.target),
      'orderer1',
      'peer0.utilitya',
    ]);
    const last = faults[faults.length - 1];
    expect((last?.atMs ?? 0) + 10_000 + 60_000).to.be.at.most(900_000);
  });

  it('fits the e2e run: 90 s with a fault every 15 s', () => {
    const faults = faultSchedule({ durationMs: 90_000, faultEveryMs: 15_000, downMs: 5_000 });
    expect(faults.map((fault) => fault.atMs)).to.deep.equal([15_000, 30_000, 45_000, 60_000, 75_000]);
    expect(faults.map((fault) => fault.kind)).to.deep.equal([
      'orderer',
      'peer',
      'gateway',
      'chaincode',
      'orderer',
    ]);
  });

  it('plans nothing when the run is shorter than a period, and refuses a down time as long as it', () => {
    expect(faultSchedule({ durationMs: 100_000, faultEveryMs: 120_000, downMs: 0 })).to.deep.equal([]);
    expect(() => faultSchedule({ durationMs: 100_000, faultEveryMs: 10_000, downMs: 10_000 })).to.throw(
      RangeError,
    );
  });

  it('pushes a fault back until the previous process has been back for half a period', () => {
    expect(nextFaultStart(1000, undefined, 120_000)).to.equal(1000);
    expect(nextFaultStart(240_000, 150_000, 120_000)).to.equal(240_000);
    expect(nextFaultStart(240_000, 200_000, 120_000)).to.equal(260_000);
  });
});
