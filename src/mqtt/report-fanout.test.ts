import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { encodeReport, fanOutReport, type ReportQueueCap, type ReportSubscriber } from './report-fanout.js';

test('a report is encoded exactly as mqtt-packet (which aedes writes with) encodes it', () => {
  // Remaining-length boundaries: 1, 2 and 3 length bytes.
  for (const size of [0, 10, 127 - 17, 128 - 17, 10240, 16383 - 17, 16384 - 17, 300000]) {
    const topic = 'device/01S00A000000000/report';
    const payload = Buffer.alloc(size, 0x7b);
    const expected = mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
    assert.deepEqual(encodeReport(topic, payload), expected, `payload of ${size} bytes`);
  }
});

const noCap: ReportQueueCap = { maxBytes: Number.POSITIVE_INFINITY, onOverflow: () => assert.fail('over the cap') };

function subscriber(filters: string[], state: Partial<ReportSubscriber> = {}) {
  const written: Buffer[] = [];
  const client: ReportSubscriber = {
    connected: true,
    closed: false,
    conn: { writable: true, writableLength: 0, write: (chunk) => written.push(chunk) > 0, destroy: () => {} },
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
  const ended = subscriber([topic], {
    conn: { writable: false, writableLength: 0, write: () => assert.fail('written after end'), destroy: () => {} },
  });
  fanOutReport(
    [exact, both, other, none, closing, ended].map((s) => s.client),
    topic,
    Buffer.from('{"print":{}}'),
    noCap,
  );
  assert.equal(exact.written.length, 1);
  assert.equal(both.written.length, 1);
  assert.deepEqual(both.written[0], exact.written[0]);
  assert.equal(other.written.length + none.written.length + closing.written.length, 0);
});

test('a client whose unsent reports would pass the cap is disconnected and reported; the others still get it', () => {
  const topic = 'device/S1/report';
  const payload = Buffer.alloc(1000, 0x7b);
  const reading = subscriber([topic]);
  let destroyed = false;
  const stalled = subscriber([topic], {
    conn: {
      writable: true,
      writableLength: 4000,
      write: () => assert.fail('written over the cap'),
      destroy: () => {
        destroyed = true;
      },
    },
  });
  const overflows: number[] = [];
  const cap: ReportQueueCap = {
    maxBytes: 4500,
    onOverflow: (client, queued) => {
      assert.equal(client, stalled.client);
      overflows.push(queued);
    },
  };
  fanOutReport([stalled.client, reading.client], topic, payload, cap);
  assert.ok(destroyed, 'the stalled client was disconnected');
  assert.deepEqual(overflows, [4000]);
  assert.equal(reading.written.length, 1);
});
