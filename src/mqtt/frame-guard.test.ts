import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { FrameSizeGuard } from './frame-guard.js';

const publish = (size: number) =>
  mqttPacket.generate({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.alloc(size, 0x61),
    qos: 0,
    retain: false,
    dup: false,
  });

test('packets within the limit pass, split across chunks at any byte', () => {
  const stream = Buffer.concat([publish(10), publish(1000), mqttPacket.generate({ cmd: 'pingreq' }), publish(2000)]);
  for (const step of [1, 2, 3, 7, 1000, stream.length]) {
    const guard = new FrameSizeGuard(4096);
    for (let i = 0; i < stream.length; i += step) {
      assert.equal(guard.inspect(stream.subarray(i, i + step)), undefined, `step ${step}`);
    }
  }
});

test('an oversized packet is reported from its header alone', () => {
  const guard = new FrameSizeGuard(4096);
  assert.equal(guard.inspect(publish(100)), undefined);
  assert.match(guard.inspect(publish(5000).subarray(0, 4)) ?? '', /exceeds the limit of 4096/);
});

test('a remaining length longer than four bytes is malformed', () => {
  const guard = new FrameSizeGuard(1 << 30);
  assert.equal(guard.inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])), 'malformed remaining length');
});
