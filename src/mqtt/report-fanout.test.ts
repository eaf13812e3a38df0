import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { encodeReport, fanOutReport, type ReportSubscriber } from './report-fanout.js';

test('a report is encoded exactly as mqtt-packet (which aedes writes with) encodes it', () => {
  // Remaining-length boundaries: 1, 2 and 3 length bytes.
  for (const size of [0, 10, 127 - 17, 128 - 17, 10240, 16383 - 17, 16384 - 17, 300000]) {
    const topic = 'device/01S00A000000000/report';
    const payload = Buffer.alloc(size, 0x7b);
    const expected = mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
    assert.deepEqual(encodeReport(topic, payload), expected, `payload of ${size} bytes`);
  }
});

function subscriber(filters: string[], state: Partial<ReportSubscriber> = {}) {
  const written: Buffer[] = [];
  const client: ReportSubscriber = {
    connected: true,
    closed: false,
    conn: { writable: true, write: (chunk) => written.push(chunk) > 0 },
    subscriptions: Object.fromEntries(filters.map((f) => [f, {}])),
    ...state,
  };
  return { client, written };
}

test('every client whose filters match gets the report once; others and closed connections get nothing', () => {
  const topic = 'device/S1/report';
  const exact = subscriber([topic]);
  const both = subscriber([topic, 'device/+/report', 'moat/#']);
  const other = subscriber(['device/S2/report', 'moat/#']);
  const none = subscriber([], { subscriptions: undefined });
  const closing = subscriber([topic], { closed: true });
  const ended = subscriber([topic], { conn: { writable: false, write: () => assert.fail('written after end') } });
  fanOutReport(
    [exact, both, other, none, closing, ended].map((s) => s.client),
    topic,
    Buffer.from('{"print":{}}'),
  );
  assert.equal(exact.written.length, 1);
  assert.equal(both.written.length, 1);
  assert.deepEqual(both.written[0], exact.written[0]);
  assert.equal(other.written.length + none.written.length + closing.written.length, 0);
});
