import { expect } from 'chai';
import { GatewayApiError, GatewayConnectionError } from '@hems/device-client';
import { nextStep } from '../../scripts/soak/homes';
import { Pacer } from '../../scripts/soak/pacer';

describe('soak homes', () => {
  const first = { kind: 'forecast', attempts: 1, inDoubt: false } as const;
  const retried = { kind: 'order', attempts: 2, inDoubt: false } as const;

  it('resends unchanged after a transient failure, with a new key when the gateway is in doubt', () => {
    expect(nextStep(new GatewayApiError(503, 'LEDGER_UNAVAILABLE', 'x'), first)).to.equal('same-key');
    expect(nextStep(new GatewayConnectionError('ECONNREFUSED', 'x'), first)).to.equal('same-key');
    expect(nextStep(new GatewayApiError(409, 'IDEMPOTENCY_KEY_IN_DOUBT', 'x'), first)).to.equal('new-key');
    expect(nextStep(new GatewayApiError(500, 'INTERNAL', 'x'), first)).to.equal('new-key');
  });

  it('takes a CONFLICT after an uncertain attempt as stored earlier (a forecast asks again)', () => {
    const conflict = new GatewayApiError(409, 'CONFLICT', 'nonce used');
    expect(nextStep(conflict, retried)).to.equal('stored-earlier');
    expect(nextStep(conflict, { ...first, attempts: 3 })).to.equal('new-key');
    expect(nextStep(conflict, first)).to.equal('refused');
    expect(nextStep(new GatewayApiError(409, 'FAILED_PRECONDITION', 'closed'), retried)).to.equal('refused');
    expect(nextStep(new GatewayConnectionError('CERT_HAS_EXPIRED', 'x'), first)).to.equal('refused');
  });

  it('starts paced jobs one after another at the rate, and runs them concurrently', async () => {
    const pacer = new Pacer(100);
    const started: number[] = [];
    const t0 = Date.now();
    await Promise.all(
      [0, 1, 2, 3].map(() =>
        pacer.run(async () => {
          started.push(Date.now() - t0);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }),
      ),
    );
    expect(started).to.have.length(4);
    // Four starts 10 ms apart, each job 200 ms: together well under 4 × 200 ms.
    expect(Date.now() - t0).to.be.below(700);
    expect(started[3] ?? 0).to.be.at.least(25);
  });
});
