import { expect } from 'chai';
import {
  DEFAULT_MAX_EVENT_STREAMS_PER_CALLER,
  maxEventStreamsPerCaller,
  orderCommitLeadMs,
} from '../src/config';

describe('configuration: event streams per caller', () => {
  it('defaults to 4 and reads HEMS_GATEWAY_MAX_STREAMS_PER_CALLER', () => {
    expect(DEFAULT_MAX_EVENT_STREAMS_PER_CALLER).to.equal(4);
    expect(maxEventStreamsPerCaller({})).to.equal(4);
    expect(maxEventStreamsPerCaller({ HEMS_GATEWAY_MAX_STREAMS_PER_CALLER: '' })).to.equal(4);
    expect(maxEventStreamsPerCaller({ HEMS_GATEWAY_MAX_STREAMS_PER_CALLER: '1' })).to.equal(1);
    expect(maxEventStreamsPerCaller({ HEMS_GATEWAY_MAX_STREAMS_PER_CALLER: '1000' })).to.equal(1000);
  });

  it('refuses anything but an integer from 1 to 1000', () => {
    for (const text of ['0', '1001', '-2', '2.5', '1e2', 'four', ' 3']) {
      expect(() => maxEventStreamsPerCaller({ HEMS_GATEWAY_MAX_STREAMS_PER_CALLER: text }), text).to.throw(
        'HEMS_GATEWAY_MAX_STREAMS_PER_CALLER must be an integer from 1 to 1000',
      );
    }
  });
});

describe('config: HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS', () => {
  it('defaults to 3000 ms and takes an integer from 500 to 600000', () => {
    expect(orderCommitLeadMs({})).to.equal(3000);
    expect(orderCommitLeadMs({ HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS: '' })).to.equal(3000);
    expect(orderCommitLeadMs({ HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS: '500' })).to.equal(500);
    expect(orderCommitLeadMs({ HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS: '600000' })).to.equal(600_000);
    for (const bad of ['499', '600001', '1.5', '-1', 'soon', '1e3']) {
      expect(() => orderCommitLeadMs({ HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS: bad }), bad).to.throw(
        /HEMS_GATEWAY_ORDER_COMMIT_LEAD_MS must be an integer from 500 to 600000/,
      );
    }
  });
});
