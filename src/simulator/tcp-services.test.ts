import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { createPrinterPki } from '../certs/printer-pki.js';
import { printerModel } from '../printer-models.js';
import { SimulatorStats } from './stats.js';
import { cameraAuthPacket, decodeBindFrame, encodeBindFrame, startSimulatedTcpServices } from './tcp-services.js';

const serial = '01S00C000000002';

async function readUntil(socket: Socket, done: (data: Buffer) => boolean): Promise<Buffer> {
  let data = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), 5000);
    const finish = () => {
      clearTimeout(timer);
      resolve(data);
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (done(data)) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => {});
  });
}

test('bind frames round-trip, and bad frames are told apart from short ones', () => {
  const frame = encodeBindFrame({ login: { command: 'detect' } });
  assert.equal(frame.readUInt16LE(2), frame.length);
  assert.deepEqual(decodeBindFrame(frame), { value: { login: { command: 'detect' } }, bytes: frame.length });
  assert.equal(decodeBindFrame(frame.subarray(0, 10)), 'incomplete');
  assert.equal(decodeBindFrame(Buffer.from('GET / HTTP/1.1\r\n')), 'invalid');
});

test('the printer stand-ins answer detect (3000 plain, 3002 TLS), stream the camera and speak RTSP', async (t) => {
  const pki = await createPrinterPki(serial);
  const stats = new SimulatorStats();
  const services = await startSimulatedTcpServices({
    serial,
    model: printerModel('P1S'),
    host: '127.0.0.1',
    accessCode: '12345678',
    pki,
    stats,
    frameIntervalMs: 20,
  });
  t.after(() => services.close());
  const tlsOptions = { host: '127.0.0.1', ca: pki.ca.certPem, checkServerIdentity: () => undefined };

  const detect = encodeBindFrame({ login: { command: 'detect', sequence_id: '20000' } });
  for (const socket of [
    netConnect(services.ports.bind, '127.0.0.1'),
    tlsConnect({ ...tlsOptions, port: services.ports.bindTls }),
  ]) {
    socket.write(detect);
    const reply = decodeBindFrame(await readUntil(socket, (d) => decodeBindFrame(d) !== 'incomplete'));
    assert.ok(reply !== 'incomplete' && reply !== 'invalid');
    assert.equal((reply.value as { login: { id: string } }).login.id, serial);
    socket.destroy();
  }

  const camera = tlsConnect({ ...tlsOptions, port: services.ports.tunnel });
  await once(camera, 'secureConnect');
  assert.equal(camera.getPeerCertificate().subject.CN, serial, 'the camera presents the printer certificate');
  camera.write(cameraAuthPacket('bblp', '12345678'));
  const frames = await readUntil(camera, (d) => d.length >= 16 + d.readUInt32LE(0));
  assert.deepEqual([...frames.subarray(16, 18)], [0xff, 0xd8], 'a JPEG follows the 16-byte header');
  camera.destroy();

  const wrong = tlsConnect({ ...tlsOptions, port: services.ports.tunnel });
  wrong.write(cameraAuthPacket('bblp', '00000000'));
  assert.equal((await readUntil(wrong, () => false)).length, 0, 'a wrong access code gets no frame');

  const rtsp = tlsConnect({ ...tlsOptions, port: services.ports.rtsps });
  rtsp.write('OPTIONS rtsp://127.0.0.1/streaming/live/1 RTSP/1.0\r\nCSeq: 7\r\n\r\n');
  const answer = (await readUntil(rtsp, (d) => d.includes('\r\n\r\n'))).toString();
  assert.match(answer, /^RTSP\/1\.0 200 OK\r\nCSeq: 7\r\n/);
  rtsp.destroy();
  assert.deepEqual(stats.tcpConnections, { rtsps: 1, tunnel: 2, bind: 1, bindTls: 1 });
});
