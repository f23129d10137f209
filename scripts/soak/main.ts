/*
 * `npm run soak`: the fault soak (not a test; see docs/soak.md). Simulated homes submit forecasts,
 * consumption reports and orders through the REST gateways at a steady rate for --minutes while
 * orderer1, peer0.utilitya, UtilityA's gateway and cc-hems-utilitya are killed (SIGKILL) and
 * started again in turn; then the ledger is checked and the figures printed. Exits non-zero when
 * an acknowledged item was lost or stored twice, an aggregate is not the sum of its forecasts, or
 * tokens were not conserved.
 *
 *   npm run network:up            # once; the soak never starts or resets the network itself
 *   npm run soak -- --minutes 15 --homes 40 --rate 5 --fault-every 120
 *
 * The gateways run on their own ports (39443-39446), apart from a developer's (9443-) and the
 * bench's (29443-).
 */
import { loadNetworkDescription } from '@hems/network-client';
import { useGatewayPorts } from '@hems/testkit';
import { errorMessage } from '../bench/lib/runner';
import { neededRate, parseOptions, USAGE } from './options';
import { defaultReportPath, formatReport, writeSoakReport } from './report';
import { runSoak } from './run-soak';

export const SOAK_GATEWAY_PORTS: Readonly<Record<string, number>> = {
  DSOMSP: 39443,
  UtilityAMSP: 39444,
  UtilityBMSP: 39445,
  RegulatorMSP: 39446,
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const needed = neededRate(options);
  if (needed > options.rate) {
    console.warn(
      `soak: the homes need about ${needed.toFixed(1)} submissions/s and --rate is ${options.rate}: items will queue and some miss their slot`,
    );
  }
  const description = loadNetworkDescription();
  useGatewayPorts(SOAK_GATEWAY_PORTS);
  const startedAt = new Date();
  const report = await runSoak(options, description);
  console.log(formatReport(report));
  console.log(`\nreport: ${writeSoakReport(report, options.report ?? defaultReportPath(startedAt))}`);
  if (!report.passed) {
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(`soak: ${errorMessage(error)}`);
  process.exitCode = 1;
});
