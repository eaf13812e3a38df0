import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { encodeReport, fanOutReport, type ReportQueueCap, type ReportSubscriber } from './report-fanout.js';

test('a report is one QoS 0 PUBLISH, retain and dup clear, that an MQTT parser reads back whole', () => {
  const topic = 'device/01S00A000000000/report';
  // Remaining length of 1, 2 and 3 bytes, on both sides of each boundary.
  for (const [size, lengthBytes] of [
    [0, 1],
    [127 - 31, 1],
    [128 - 31, 2],
    [10240, 2],
    [16383 - 31, 2],
    [16384 - 31, 3],
    [300000, 3],
    [2097152 - 31, 4],
  ] as const) {
    const payload = Buffer.alloc(size, 0x7b);
    const encoded = encodeReport(topic, payload);
    assert.equal(encoded[0], 0x30, 'PUBLISH, QoS 0, not retained, not a duplicate');
    assert.equal(encoded.length, 1 + lengthBytes + 2 + topic.length + size, `payload of ${size} bytes`);
    const parsed: mqttPacket.Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => parsed.push(packet));
    parser.on('error', (error) => assert.fail(error));
    parser.parse(encoded);
    assert.equal(parsed.length, 1);
    const packet = parsed[0] as mqttPacket.IPublishPacket;
    assert.equal(packet.topic, topic);
    assert.deepEqual(packet.payload, payload);
    assert.deepEqual([packet.qos, packet.retain, packet.dup], [0, false, false]);
    const byAedesEncoder = mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
    assert.deepEqual(encoded, byAedesEncoder, 'the same bytes as the encoder aedes uses');
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
  assert.equal(both.written[0], exact.written[0], 'encoded once: every subscriber gets the same buffer');
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

test('packets written to a stream, as aedes and mqtt.js write them, build no table of numbers', async () => {
  const written: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      done();
    },
  });
  mqttPacket.writeToStream({ cmd: 'puback', messageId: 0x1234 }, stream);
  stream.end();
  await once(stream, 'finish');
  assert.equal(mqttPacket.writeToStream.cacheNumbers, false);
  assert.deepEqual(Buffer.concat(written), Buffer.from([0x40, 0x02, 0x12, 0x34]));
});
