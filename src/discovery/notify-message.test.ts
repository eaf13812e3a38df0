import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatNotify,
  headerValue,
  maxNotifyBytes,
  type NotifyHeaders,
  parseNotify,
  withHeader,
} from './notify-message.js';

const headers: NotifyHeaders = [
  ['Location', '192.0.2.10'],
  ['NT', 'urn:bambulab-com:device:3dprinter:1'],
  ['USN', '01S00C000000001'],
  ['DevModel.bambu.com', 'C12'],
];

test('a formatted NOTIFY parses back to the same headers in order', () => {
  const parsed = parseNotify(formatNotify(headers));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.notify.headers, headers);
  assert.equal(parsed.notify.serial, '01S00C000000001');
  assert.equal(parsed.notify.location, '192.0.2.10');
});

test('withHeader replaces a value in place, keeping spelling and order', () => {
  const changed = withHeader(headers, 'location', '198.51.100.1');
  assert.deepEqual(changed[0], ['Location', '198.51.100.1']);
  assert.equal(headerValue(changed, 'devmodel.BAMBU.com'), 'C12');
  assert.equal(changed.length, headers.length);
});

test('malformed and oversized datagrams are refused with a reason', () => {
  const cases: [Buffer, string][] = [
    [Buffer.from('M-SEARCH * HTTP/1.1\r\n\r\n'), 'malformed'],
    [Buffer.from('NOTIFY * HTTP/1.1\r\nUSN: x\r\n'), 'malformed'], // no blank line
    [formatNotify(withHeader(headers, 'USN', 'bad serial!')), 'malformed'],
    [formatNotify(withHeader(headers, 'Location', '192.0.2.300')), 'malformed'],
    [formatNotify(withHeader(headers, 'NT', 'urn:other')), 'malformed'],
    [formatNotify([...headers, ['X-Evil', 'a\u0001b']]), 'malformed'],
    [Buffer.from('NOTIFY * HTTP/1.1\r\nno colon here\r\n\r\n'), 'malformed'],
    [Buffer.concat([formatNotify(headers), Buffer.alloc(maxNotifyBytes)]), 'oversized'],
    [Buffer.alloc(0), 'malformed'],
  ];
  for (const [datagram, reason] of cases) {
    const parsed = parseNotify(datagram);
    assert.equal(parsed.ok, false, datagram.toString('latin1').slice(0, 60));
    assert.equal(!parsed.ok && parsed.reason, reason);
  }
});
