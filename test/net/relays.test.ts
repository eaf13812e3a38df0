import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { cameraAuthPacket, decodeBindFrame, encodeBindFrame } from '../../src/simulator/tcp-services.js';
import { startHarness } from '../helpers/harness.js';
import { mosquittoArgs } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/** Loopback end-to-end tests of the TCP relays: Moat in front of the simulator's camera and bind services. */

function relayPort(stats: { name: string; listenPort: number }[], name: string): number {
  const relay = stats.find((s) => s.name === name);
  assert.ok(relay, `relay ${name} runs`);
  return relay.listenPort;
}

async function cameraClient(
  port: number,
  caFile: string,
  accessCode: string,
): Promise<{ socket: TLSSocket; frame: Promise<Buffer> }> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca: caFile, checkServerIdentity: () => undefined });
  socket.on('error', () => {});
  const frame = new Promise<Buffer>((resolve, reject) => {
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 16 && data.length >= 16 + data.readUInt32LE(0)) resolve(data);
    });
    socket.once('close', () => reject(new Error('closed before a frame')));
  });
  frame.catch(() => {});
  socket.once('secureConnect', () => socket.write(cameraAuthPacket('bblp', accessCode)));
  return { socket, frame };
}

test('port 6000 carries the printer TLS stream under the relay cap, not the camera cap (print files share it)', async (t) => {
  const h = await startHarness({
    mqtt: false,
    ftp: false,
    simulator: { tcpServices: { frameIntervalMs: 50 } },
    // A camera cap of 1 must not hold back a second 6000 session (a P2S/H2 print upload uses the same port).
    configure: (config) => ({ ...config, relays: { ...config.relays, cameraMaxConnections: 1, maxConnections: 2 } }),
  });
  t.after(() => h.close());
  assert.ok(h.moat);
  const printerCa = h.sim.pki.ca.certPem;
  const port = relayPort(h.moat.relays.stats(), 'camera jpeg');
  const first = await cameraClient(port, printerCa, h.printerAccessCode);
  const second = await cameraClient(port, printerCa, h.printerAccessCode);
  t.after(() => {
    first.socket.destroy();
    second.socket.destroy();
  });
  const frames = await Promise.all([first.frame, second.frame]);
  for (const data of frames) assert.deepEqual([...data.subarray(16, 18)], [0xff, 0xd8], 'JPEG frame through the relay');
  assert.equal(first.socket.getPeerCertificate().subject.CN, h.serial, "the printer's own certificate, end to end");

  const third = netConnect(port, '127.0.0.1');
  third.on('error', () => {});
  let thirdBytes = 0;
  third.on('data', (chunk: Buffer) => {
    thirdBytes += chunk.length;
  });
  await once(third, 'close');
  assert.equal(thirdBytes, 0, 'the third connection, over the relay cap, gets nothing');
  const stats = h.moat.relays.stats().find((s) => s.name === 'camera jpeg');
  assert.equal(stats?.maxConnections, 2);
  assert.equal(stats?.refused, 1);
  assert.equal(stats?.active, 2);
  assert.equal(h.sim.stats.tcpConnections.tunnel, 2, 'the printer saw only two connections');
});

test('bind relays carry detect on 3000 (plain) and 3002 (TLS); idle connections are closed, streaming ones are not', async (t) => {
  const h = await startHarness({
    mqtt: false,
    ftp: false,
    simulator: { tcpServices: {} },
    configure: (config) => ({
      ...config,
      relays: { ...config.relays, idleTimeoutMs: 1000 },
    }),
  });
  t.after(() => h.close());
  assert.ok(h.moat);
  const stats = h.moat.relays.stats();
  const detect = encodeBindFrame({ login: { command: 'detect', sequence_id: '20000' } });
  const sockets: Socket[] = [
    netConnect(relayPort(stats, 'bind'), '127.0.0.1'),
    tlsConnect({
      host: '127.0.0.1',
      port: relayPort(stats, 'bind tls'),
      ca: h.sim.pki.ca.certPem,
      checkServerIdentity: () => undefined,
    }),
  ];
  for (const socket of sockets) {
    socket.write(detect);
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
    });
    await once(socket, 'close');
    const reply = decodeBindFrame(data);
    assert.ok(reply !== 'incomplete' && reply !== 'invalid', 'a detect reply came back');
    assert.equal((reply.value as { login: { id: string } }).login.id, h.serial);
  }

  const idle = netConnect(relayPort(stats, 'bind'), '127.0.0.1');
  idle.on('error', () => {});
  const started = Date.now();
  await once(idle, 'close');
  assert.ok(Date.now() - started >= 900, 'closed by the idle timeout, not at once');

  // A camera viewer only receives, yet a flowing stream is not idle: it outlives the timeout.
  const viewer = await cameraClient(relayPort(stats, 'camera jpeg'), h.sim.pki.ca.certPem, h.printerAccessCode);
  t.after(() => viewer.socket.destroy());
  await viewer.frame;
  const watched = Date.now();
  let lastData = 0;
  viewer.socket.on('data', () => {
    lastData = Date.now();
  });
  await waitFor(() => lastData - watched > 2000, { timeoutMs: 5000, what: 'frames still flowing after 2 s' });
  assert.equal(viewer.socket.destroyed, false);
});

test('passthrough relays 8883 end to end: mosquitto talks to the printer itself, through its own certificate', async (t) => {
  const h = await startHarness({
    mqtt: 'tls',
    ftp: false,
    configure: (config) => {
      const printer = config.printers[0];
      assert.ok(printer);
      printer.passthrough = true;
      // Passthrough relays every passive port: keep the range to one port on this shared machine.
      config.ports.passiveMax = config.ports.passiveMin;
      return config;
    },
  });
  t.after(() => h.close());
  assert.ok(h.moat);
  const port = String(relayPort(h.moat.relays.stats(), 'mqtt passthrough'));

  // The certificate met through Moat's MQTT port is the printer's (CN = serial, the printer's CA, TLS 1.2).
  const client = await run(
    'openssl',
    [...['s_client', '-connect', `127.0.0.1:${port}`], ...['-CAfile', h.printerCaFile, '-brief']],
    15_000,
  );
  const seen = client.stdout + client.stderr;
  assert.match(seen, /Verification: OK/);
  assert.match(seen, new RegExp(`CN\\s*=\\s*${h.serial}`));
  assert.match(seen, /Protocol version: TLSv1\.2/, "the printer's TLS 1.2, not Moat's");

  // And MQTT flows end to end with the printer's own credentials: a pushall answered by the printer.
  // --insecure only skips the host-name check (the printer certificate has CN = serial, no SAN); the chain is verified.
  const tls = mosquittoArgs({ port: Number(port), caFile: h.printerCaFile, password: h.printerAccessCode });
  const sub = spawn('mosquitto_sub', [...tls, '-t', `device/${h.serial}/report`, '-C', '1', '-W', '20']);
  t.after(() => sub.kill());
  let report = '';
  sub.stdout.on('data', (d) => {
    report += d;
  });
  await waitFor(() => h.sim.stats.mqttConnections >= 1, { what: 'the subscriber connected to the printer' });
  const pub = await run(
    'mosquitto_pub',
    [...tls, ...['-t', `device/${h.serial}/request`, '-m', '{"pushing":{"sequence_id":"1","command":"pushall"}}']],
    15_000,
  );
  assert.equal(pub.code, 0, pub.stdout + pub.stderr);
  await waitFor(() => report.includes('"print"') && report, { timeoutMs: 20000, what: 'the full report' });
  assert.equal(h.sim.stats.pushallCount, 1, 'the printer itself answered');
  assert.ok((h.moat.relays.stats().find((s) => s.name === 'mqtt passthrough')?.accepted ?? 0) >= 3);
});
