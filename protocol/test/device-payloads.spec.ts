import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import {
  cancelPayload,
  consumptionPayload,
  forecastPayload,
  freshNonce,
  MAX_NONCE_BYTES,
  MIN_NONCE_BYTES,
  NONCE_BYTES,
  orderPayload,
  parseCancelPayload,
  parseConsumptionPayload,
  parseForecastPayload,
  parseOrderPayload,
  signPayload,
  verifyDeviceSignature,
} from '@hems/protocol';

// The texts a device signs (device-payloads.ts, signing.ts) against the parsers and the signature
// check the chaincode applies to them.

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const { publicKey: otherKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function signed(text: string): { bytes: Buffer; signature: Buffer } {
  return {
    bytes: Buffer.from(text, 'utf8'),
    signature: Buffer.from(signPayload(privateKey, text), 'base64'),
  };
}

describe('device-signed payloads', () => {
  describe('nonce', () => {
    it('is NONCE_BYTES random bytes in base64 by default, within what the parsers accept', () => {
      expect(NONCE_BYTES).to.be.within(MIN_NONCE_BYTES, MAX_NONCE_BYTES);
      expect(Buffer.from(freshNonce(), 'base64')).to.have.length(NONCE_BYTES);
      expect(Buffer.from(freshNonce(MIN_NONCE_BYTES), 'base64')).to.have.length(MIN_NONCE_BYTES);
      expect(freshNonce()).to.not.equal(freshNonce());
    });
  });

  describe('signPayload', () => {
    it('signs the UTF-8 bytes of a text, or given bytes, as base64 DER ECDSA-SHA256', () => {
      const text = '{"slotId":"s-ü"}';
      const fromText = Buffer.from(signPayload(privateKey, text), 'base64');
      const fromBytes = Buffer.from(signPayload(privateKey, Buffer.from(text, 'utf8')), 'base64');
      expect(fromText[0]).to.equal(0x30); // a DER SEQUENCE, not IEEE P1363 r||s
      expect(verifyDeviceSignature(publicKey, Buffer.from(text, 'utf8'), fromText)).to.be.true;
      expect(verifyDeviceSignature(publicKey, Buffer.from(text, 'utf8'), fromBytes)).to.be.true;
      expect(verifyDeviceSignature(otherKey, Buffer.from(text, 'utf8'), fromText)).to.be.false;
      expect(verifyDeviceSignature(publicKey, Buffer.from(`${text} `, 'utf8'), fromText)).to.be.false;
    });
  });

  it('forecastPayload writes {slotId, lower, upper, nonce} that parses and verifies', () => {
    const nonce = freshNonce();
    const text = forecastPayload('slot-1', { lower: -0, upper: 2.5 }, nonce);
    expect(text).to.equal(`{"slotId":"slot-1","lower":0,"upper":2.5,"nonce":"${nonce}"}`);
    const { bytes, signature } = signed(text);
    expect(parseForecastPayload(bytes, 100)).to.deep.equal({ slotId: 'slot-1', lower: 0, upper: 2.5, nonce });
    expect(verifyDeviceSignature(publicKey, bytes, signature)).to.be.true;
  });

  it('consumptionPayload writes {slotId, drawnKw, nonce} that parses and verifies', () => {
    const nonce = freshNonce();
    const text = consumptionPayload('slot-1', 1.234, nonce);
    expect(text).to.equal(`{"slotId":"slot-1","drawnKw":1.234,"nonce":"${nonce}"}`);
    const { bytes, signature } = signed(text);
    expect(parseConsumptionPayload(bytes, 100)).to.deep.equal({ slotId: 'slot-1', drawnKw: 1.234, nonce });
    expect(verifyDeviceSignature(publicKey, bytes, signature)).to.be.true;
  });

  it('orderPayload writes canonical JSON (members sorted) that parses and verifies', () => {
    const nonce = freshNonce();
    const text = orderPayload('w-1', { side: 'bid', energyKwh: 1.5, limitPrice: 80.25 }, '0.2', nonce);
    expect(text).to.equal(
      `{"energyKwh":1.5,"escrow":"0.2","limitPrice":80.25,"nonce":"${nonce}","side":"bid","windowId":"w-1"}`,
    );
    const { bytes, signature } = signed(text);
    const parsed = parseOrderPayload(bytes);
    expect(parsed).to.include({ windowId: 'w-1', side: 'bid', energyWh: 1500, limitPrice: 802_500, nonce });
    expect(verifyDeviceSignature(publicKey, bytes, signature)).to.be.true;
    const offer = orderPayload('w-1', { side: 'offer', energyKwh: 2, limitPrice: -0 }, '0', nonce);
    expect(parseOrderPayload(Buffer.from(offer, 'utf8'))).to.include({
      side: 'offer',
      limitPrice: 0,
      escrow: 0n,
    });
  });

  it('cancelPayload writes {action, nonce, windowId} that parses and verifies', () => {
    const nonce = freshNonce();
    const text = cancelPayload('w-1', nonce);
    expect(text).to.equal(`{"action":"cancel","nonce":"${nonce}","windowId":"w-1"}`);
    const { bytes, signature } = signed(text);
    expect(parseCancelPayload(bytes)).to.deep.equal({ windowId: 'w-1', nonce });
    expect(verifyDeviceSignature(publicKey, bytes, signature)).to.be.true;
  });
});
