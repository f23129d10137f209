import { loadNetworkDescription } from '@hems/network-client';
import { expect } from 'chai';
import { DEFAULT_OPTIONS, checkOptions } from '../../scripts/soak/options';
import { formatReport } from '../../scripts/soak/report';
import { runSoak } from '../../scripts/soak/run-soak';
import { useE2eGatewayPorts } from './support/gateways';
import { E2E_STATE_DIR } from './support/network';

/**
 * A short fault soak (scripts/soak, docs/soak.md) on the e2e network: 90 s of load from 20 homes
 * with a fault every 15 s (orderer1, peer0.utilitya, UtilityA's gateway, cc-hems-utilitya, then
 * orderer1 again), each process killed with SIGKILL and started again. It runs last: it kills
 * processes of the network the other suites share. HEMS_E2E_SOAK=0 leaves it out (it adds some
 * four minutes to the suite).
 */
describe('fault soak, short', function () {
  before(function () {
    if (process.env.HEMS_E2E_SOAK === '0') {
      this.skip();
    }
    useE2eGatewayPorts();
  });

  it('loses and duplicates nothing acknowledged, keeps every aggregate the sum of its forecasts and conserves tokens', async function () {
    this.timeout(15 * 60_000);
    const options = checkOptions({
      ...DEFAULT_OPTIONS,
      minutes: 1.5,
      homes: 20,
      rate: 5,
      faultEverySeconds: 15,
      downSeconds: 5,
      slotSeconds: 15,
    });
    const report = await runSoak(options, loadNetworkDescription(E2E_STATE_DIR), {
      log: (line) => console.error(`      ${line}`),
    });
    const summary = formatReport(report);
    expect(
      report.errors.filter((error) => error.startsWith('the soak stopped')),
      summary,
    ).to.deep.equal([]);
    expect(report.faults.length, summary).to.be.at.least(4);
    expect(
      report.faults.filter((fault) => fault.error !== null || fault.restoredAt === null),
      summary,
    ).to.deep.equal([]);
    for (const kind of report.kinds) {
      expect(kind.sent, `${kind.kind}\n${summary}`).to.be.above(0);
      expect(kind.acknowledged, `${kind.kind}\n${summary}`).to.be.above(0);
      expect(kind.lost, `${kind.kind} lost\n${summary}`).to.equal(0);
      expect(kind.duplicated, `${kind.kind} duplicated\n${summary}`).to.equal(0);
    }
    expect(report.aggregates.published, summary).to.be.above(0);
    expect(report.aggregates.mismatched, summary).to.equal(0);
    expect(report.tokens?.conserved, summary).to.equal(true);
    expect(report.passed, summary).to.equal(true);
  });
});
