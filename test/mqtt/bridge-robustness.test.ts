import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type ConnectionOptions, connect } from 'node:tls';
import type { MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { type Harness, startHarness } from '../helpers/harness.js';
import { connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/** A small deterministic PRNG, so a failing frame can be reproduced from the seed. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const validConnect = mqttPacket.generate({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'fuzz',
  keepalive: 30,
  username: 'bblp',
  password: Buffer.from('not-a-code'),
});

/** Frames a broker must survive: garbage, truncations, impossible lengths, packets out of order. */
function malformedFrame(random: () => number): Buffer {
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  switch (int(7)) {
    case 0:
      return bytes(1 + int(48));
    case 1:
      return validConnect.subarray(0, 1 + int(validConnect.length - 1));
    case 2:
      return Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f, ...bytes(int(8))]);
    case 3:
      return Buffer.from([([0x00, 0xf0][int(2)] as number) | int(16), int(8), ...bytes(int(8))]);
    case 4:
      return mqttPacket.generate({
        cmd: 'publish',
        topic: 'device/x/request',
        payload: bytes(int(32)),
        qos: 0,
        retain: false,
        dup: false,
      });
    case 5: {
      const frame = Buffer.from(validConnect);
      frame.write(['MQTX', 'mqtt', 'MQIs'][int(3)] as string, 4, 'latin1');
      if (random() < 0.5) frame[8] = [0, 3, 5, 7, 255][int(5)] as number;
      return frame;
    }
    default:
      return mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1 + int(1000),
        subscriptions: [{ topic: '#', qos: 0 }],
      });
  }
}

describe('MQTT bridge robustness', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  before(async () => {
    h = await startHarness({
      model: 'X1C',
      ftp: false,
      // Generous limits for a storm from one address; the frames never reach a login anyway.
      configure: (config) => ({ ...config, mqtt: { ...config.mqtt, maxClients: 200 } }),
    });
    await waitForPrinterReady(h);
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    await h.close();
  });

  test('10,000 malformed or truncated frames and oversized publishes never crash Moat; a good client keeps receiving', async () => {
    const report = `device/${h.serial}/report`;
    const viewer = await connectMqtt(moatEndpoint(h, 'viewer'));
    clients.push(viewer);
    let viewerClosed = false;
    viewer.on('close', () => {
      viewerClosed = true;
    });
    const received: Buffer[] = [];
    viewer.on('message', (topic, payload) => topic === report && received.push(payload));
    await viewer.subscribeAsync(report);

    const port = h.moat?.mqtt.port as number;
    const tlsOptions: ConnectionOptions = {
      host: '127.0.0.1',
      port,
      ca: readFileSync(h.moatCaFile),
      checkServerIdentity: () => undefined,
      // TLS 1.2 tickets can be resumed again and again, which keeps 10,000 handshakes cheap.
      maxVersion: 'TLSv1.2',
    };
    let session: Buffer | undefined;
    const sendOne = (frame: Buffer) =>
      new Promise<void>((resolve) => {
        const socket = connect({ ...tlsOptions, ...(session && { session }) }, () => {
          socket.end(frame);
        });
        socket.on('session', (s: Buffer) => {
          session = s;
        });
        socket.on('data', () => {});
        socket.on('error', () => {});
        socket.setTimeout(5000, () => socket.destroy());
        socket.once('close', () => resolve());
      });

    const random = xorshift(20261127);
    const total = 10000;
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        sent++;
        await sendOne(malformedFrame(random));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.equal(sent, total);

    // Oversized: a bare header announcing 300 KiB, and an authenticated admin publishing 300 KiB.
    await sendOne(
      Buffer.concat([
        mqttPacket.generate({
          cmd: 'publish',
          topic: 't',
          payload: Buffer.alloc(300 * 1024),
          qos: 0,
          retain: false,
          dup: false,
        }),
      ]),
    );
    const admin = await connectMqtt(moatEndpoint(h, 'admin'));
    const adminClosed = new Promise<void>((resolve) => admin.once('close', () => resolve()));
    admin.publish(`device/${h.serial}/request`, Buffer.alloc(300 * 1024, 0x20));
    await adminClosed;
    admin.end(true);
    assert.ok(
      !h.sim.stats.commands.some((c) => c.payload.length > 256 * 1024),
      'the oversized publish never reached the printer',
    );

    // Moat is alive, the good client never noticed, and new clients still get in and are answered.
    const before = received.length;
    const operator = await connectMqtt(moatEndpoint(h, 'operator'));
    clients.push(operator);
    await operator.publishAsync(
      `device/${h.serial}/request`,
      JSON.stringify({ info: { sequence_id: 'alive', command: 'get_version' } }),
    );
    await waitFor(() => received.slice(before).some((p) => p.includes('"sequence_id":"alive"')), {
      what: 'the viewer to receive the answer',
    });
    assert.equal(viewerClosed, false);
    assert.equal(h.sim.stats.mqttConnections, 1);
  });
});
