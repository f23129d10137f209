import { expect } from 'chai';
import { SseParser, SseProtocolError, type ServerSentEvent } from '../src';

function parseAll(chunks: readonly (string | Uint8Array)[], lastEventId?: string): ServerSentEvent[] {
  const parser = new SseParser(lastEventId === undefined ? {} : { lastEventId });
  return chunks.flatMap((chunk) => parser.push(chunk));
}

describe('HEMS device client: event-stream parser', () => {
  const STREAM =
    ': heartbeat\n\n' +
    'id: 1-aa\nevent: slot-opened\ndata: {"slotId":"s1",\ndata: "bus":"b1"}\n\n' +
    ':another comment\r\n' +
    'event: dispatch-published\r\ndata:{"slotId":"s1","lambda":0.5}\r\n\r\n' +
    'id: 2-bb\rdata: plain\r\r' +
    'event: reset\n\n';

  const EXPECTED: ServerSentEvent[] = [
    { type: 'slot-opened', id: '1-aa', data: '{"slotId":"s1",\n"bus":"b1"}' },
    { type: 'dispatch-published', id: '1-aa', data: '{"slotId":"s1","lambda":0.5}' },
    { type: 'message', id: '2-bb', data: 'plain' },
    { type: 'reset', id: '2-bb', data: '' },
  ];

  it('joins multi-line data, keeps ids across events, ignores comments, handles LF, CRLF and CR', () => {
    expect(parseAll([STREAM])).to.deep.equal(EXPECTED);
  });

  it('gives the same events however the stream is split, even inside a CRLF or a UTF-8 character', () => {
    const withUtf8 = `${STREAM}data: λ = 0.5 ✓\n\n`;
    const expected = [...EXPECTED, { type: 'message', id: '2-bb', data: 'λ = 0.5 ✓' }];
    const bytes = Buffer.from(withUtf8, 'utf8');
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      expect(parseAll([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).to.deep.equal(
        expected,
      );
    }
    expect(parseAll([...bytes].map((byte) => Uint8Array.of(byte)))).to.deep.equal(expected);
  });

  it('drops a leading BOM, a space only once after the colon, and fields without a value', () => {
    expect(parseAll(['\uFEFFdata:  two spaces\nid\ndata\n\n'], '5-x')).to.deep.equal([
      { type: 'message', id: '', data: ' two spaces\n' },
    ]);
    expect(parseAll([Buffer.from('\uFEFFdata: x\n\n', 'utf8')])).to.deep.equal([
      { type: 'message', id: '', data: 'x' },
    ]);
  });

  it('dispatches nothing for blocks with neither data nor type, but takes their id', () => {
    const parser = new SseParser({ lastEventId: '1-a' });
    expect(parser.push('id: 4-d\n\n: ping\n\nunknown: field\n\n')).to.deep.equal([]);
    expect(parser.lastEventId).to.equal('4-d');
  });

  it('ignores ids containing NUL and reads retry only when it is all digits', () => {
    const parser = new SseParser();
    parser.push('retry: 2500\nid: bad\0id\ndata: x\n\nretry: 1s\n\n');
    expect(parser.lastEventId).to.equal('');
    expect(parser.retryMs).to.equal(2500);
  });

  it('discards an unterminated event at the end of the stream, including its id', () => {
    const parser = new SseParser({ lastEventId: '7-a' });
    expect(parser.push('id: 8-b\ndata: complete\n\nid: 9-c\ndata: cut')).to.deep.equal([
      { type: 'message', id: '8-b', data: 'complete' },
    ]);
    parser.end();
    expect(parser.lastEventId).to.equal('8-b');
    expect(parser.push('data: next\n\n')).to.deep.equal([{ type: 'message', id: '8-b', data: 'next' }]);
  });

  it('refuses lines and events beyond the size limit', () => {
    expect(() => new SseParser({ maxLength: 16 }).push('data: 0123456789abcdef')).to.throw(SseProtocolError);
    expect(() => new SseParser({ maxLength: 16 }).push('data: 0123456789\ndata: 0123456789\n')).to.throw(
      SseProtocolError,
      /data exceeds/,
    );
  });
});
