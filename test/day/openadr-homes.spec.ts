import { expect } from 'chai';
import { runsVen, vtnUrl } from '../../scripts/day/openadr-homes';
import { useGatewayPorts } from '@hems/testkit';

describe('the simulated day’s OpenADR homes', () => {
  it('spreads the share of VEN homes evenly over the homes', () => {
    const pick = (share: number, homes: number): number[] =>
      Array.from({ length: homes }, (_, index) => index).filter((index) => runsVen(index, share));
    expect(pick(0, 10)).to.deep.equal([]);
    expect(pick(1, 4)).to.deep.equal([0, 1, 2, 3]);
    expect(pick(0.5, 8)).to.deep.equal([1, 3, 5, 7]);
    expect(pick(0.25, 8)).to.deep.equal([3, 7]);
    expect(pick(0.5, 32)).to.have.length(16);
  });

  it('finds a utility’s VTN at its gateway’s port + 1000, under the 3.1.0 base path', () => {
    expect(vtnUrl('UtilityAMSP')).to.equal('https://localhost:10444/openadr/3.1.0');
    try {
      useGatewayPorts({ UtilityAMSP: 19444 });
      expect(vtnUrl('UtilityAMSP')).to.equal('https://localhost:20444/openadr/3.1.0');
    } finally {
      useGatewayPorts({ DSOMSP: 9443, UtilityAMSP: 9444, UtilityBMSP: 9445, RegulatorMSP: 9446 });
    }
  });
});
