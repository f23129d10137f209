import { expect } from 'chai';
import { callbackRefusal, isPublicAddress, mayDeliver } from '../src/openadr/callback-policy';

const production = {
  development: false,
  resolve: (): Promise<string[]> => Promise.resolve(['93.184.216.34']),
};

describe('OpenADR VTN: where webhook callbacks may go', () => {
  it('tells public addresses from loopback, private, link-local, CGNAT, multicast and unique-local ones', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:2800:220:1::1', '::ffff:93.184.216.34']) {
      expect(isPublicAddress(address), address).to.equal(true);
    }
    for (const address of [
      '127.0.0.1',
      '10.2.3.4',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      'not-an-address',
    ]) {
      expect(isPublicAddress(address), address).to.equal(false);
    }
  });

  it('refuses http, credentials, localhost and private address literals outside development', () => {
    expect(callbackRefusal('https://ven.example/cb', production)).to.equal(undefined);
    expect(callbackRefusal('http://ven.example/cb', production)).to.match(/https/);
    expect(callbackRefusal('https://user:pw@ven.example/cb', production)).to.match(/credentials/);
    expect(callbackRefusal('https://localhost:9000/cb', production)).to.match(/public/);
    expect(callbackRefusal('https://10.0.0.5/cb', production)).to.match(/public/);
    expect(callbackRefusal('https://[::1]/cb', production)).to.match(/public/);
    expect(callbackRefusal('not a url', production)).to.match(/absolute URL/);
    expect(callbackRefusal('http://127.0.0.1:9000/cb', { development: true })).to.equal(undefined);
  });

  it('delivers only to hosts that resolve to public addresses, checked at delivery time', async () => {
    expect(await mayDeliver('https://ven.example/cb', production)).to.equal(true);
    const rebinding = { development: false, resolve: () => Promise.resolve(['93.184.216.34', '10.0.0.7']) };
    expect(await mayDeliver('https://ven.example/cb', rebinding)).to.equal(false);
    const failing = { development: false, resolve: () => Promise.reject(new Error('NXDOMAIN')) };
    expect(await mayDeliver('https://ven.example/cb', failing)).to.equal(false);
    expect(await mayDeliver('https://169.254.169.254/latest', production)).to.equal(false);
    expect(await mayDeliver('http://127.0.0.1:9000/cb', { development: true })).to.equal(true);
  });
});
