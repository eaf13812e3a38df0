import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { MqttClient } from 'mqtt';
import { createAccessCode, generateAccessCode } from '../../src/auth/access-codes.js';
import { type RunningDemo, startDemo } from '../../src/demo.js';
import type { PrinterFront } from '../../src/front/fronts.js';
import { silentLogger } from '../../src/log.js';
import { startSimulatedPrinter } from '../../src/simulator/index.js';
import type { ConnectionTestResult } from '../../src/web/api-types.js';
import { pythonFtps, sha256File, writeRandomFile } from '../helpers/ftp-clients.js';
import { collectMessages, connectMqtt } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { apiRequest, claimAsOwner, readClaimCode } from '../web/web-harness.js';

type Report = { print?: Record<string, unknown> };

/**
 * Three printers behind one Moat, each on its own loopback address (the demo's layout: Moat's address for
 * printer i is 127.0.1.i, its simulator 127.0.2.i), every port any free one. Real clients: mqtt.js,
 * mosquitto, the Python ftplib client, openssl.
 */
describe('several printers behind one Moat', () => {
  let demo: RunningDemo;
  let dir: string;
  const clients: MqttClient[] = [];
  const front = (i: number) => demo.moat.fronts()[i] as PrinterFront;
  const code = (role: 'viewer' | 'operator' | 'admin') => demo.info.accessCodes[role];
  const mqttOf = (f: PrinterFront, password: string) =>
    connectMqtt({ host: f.lanAddress, port: f.plane.mqtt.port, caFile: demo.info.moat.caFile, password });
  const ftpOf = (f: PrinterFront, operation: string[]) =>
    pythonFtps(
      { host: f.lanAddress, port: f.plane.ftp.port, password: code('operator'), caFile: demo.info.moat.caFile },
      operation,
    );
  const ready = (f: PrinterFront) => {
    const printer = f.plane.mqtt.printers()[0];
    return printer?.online === true && printer.state !== undefined;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-several-'));
    demo = await startDemo({ dir, printers: 3, anyPort: true, logger: silentLogger() });
    await waitFor(() => demo.moat.fronts().every(ready), { what: 'Moat to reach all three printers' });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each printer is served on its own address, with its own certificate (CN = serial, SAN = address)', async () => {
    assert.deepEqual(
      demo.moat.fronts().map((f) => [f.serial, f.lanAddress]),
      demo.info.printers.map((p) => [p.serial, p.lanAddress]),
    );
    assert.deepEqual(
      demo.info.printers.map((p) => p.lanAddress),
      ['127.0.1.1', '127.0.1.2', '127.0.1.3'],
    );
    for (const f of demo.moat.fronts()) {
      for (const port of [f.plane.mqtt.port, f.plane.ftp.port]) {
        const result = await run(
          'openssl',
          [
            's_client',
            '-connect',
            `${f.lanAddress}:${port}`,
            '-CAfile',
            demo.info.moat.caFile,
            '-verify_ip',
            f.lanAddress,
          ],
          15_000,
          '',
        );
        assert.match(result.stdout, /Verify return code: 0 \(ok\)/, `${f.serial} on ${port}: ${result.stdout}`);
        assert.match(result.stdout, new RegExp(`subject=CN ?= ?${f.serial}`));
      }
      const cert = await run('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], 10_000, await leaf(f));
      assert.match(cert.stdout, new RegExp(`DNS:${f.serial}, IP Address:${f.lanAddress.replaceAll('.', '\\.')}`));
    }
  });

  test("an all-printers code on printer A's address cannot subscribe to B's reports or command B", async () => {
    const [a, b] = [front(0), front(1)];
    const client = await mqttOf(a, code('admin'));
    clients.push(client);
    await assert.rejects(
      client.subscribeAsync(`device/${b.serial}/report`),
      (error: { packet?: { granted?: number[] } }) => {
        assert.deepEqual(error.packet?.granted, [128], "B's report topic refused on A's address");
        return true;
      },
    );
    const own = await client.subscribeAsync(`device/${a.serial}/report`);
    assert.equal(own[0]?.qos, 0);
    const toB = () => demo.simulators[1]?.stats.commands.filter((c) => c.payload.includes('isolation-probe')) ?? [];
    // A's bridge knows no printer B: the publish is refused in aedes' hook, before anything could be
    // forwarded, and the client dropped (as for any topic that is not a configured printer's request topic).
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(
      `device/${b.serial}/request`,
      JSON.stringify({ pushing: { sequence_id: 'isolation-probe', command: 'pushall' } }),
      { qos: 1 },
    );
    await closed;
    assert.deepEqual(toB(), [], 'nothing reached printer B');
  });

  test("reports carry the printer's own Moat address", async () => {
    const x1c = front(1);
    assert.equal(demo.info.printers[1]?.model, 'X1C');
    const client = await mqttOf(x1c, code('viewer'));
    clients.push(client);
    const topic = `device/${x1c.serial}/report`;
    const reports = collectMessages(client, topic) as Report[];
    await client.subscribeAsync(topic);
    const ipcam = await waitFor(() => reports.find((r) => r.print?.ipcam)?.print?.ipcam as { rtsp_url?: string }, {
      what: 'a full report with ipcam',
    });
    assert.equal(ipcam.rtsp_url, 'rtsps://127.0.1.2/streaming/live/1');
  });

  test('a slicer-style flow per printer, three uploads at once: each file on its own printer, each print its own', async () => {
    const files = demo.moat.fronts().map((f, i) => {
      const file = join(dir, `part-${i}.gcode.3mf`);
      writeRandomFile(file, 512 * 1024 + i);
      return { f, file, name: `part-${i}.gcode.3mf` };
    });
    const probe = join(dir, 'verify_job');
    writeRandomFile(probe, 16);
    const uploads = await Promise.all(
      files.map(async ({ f, file, name }) => {
        const checked = await ftpOf(f, ['upload', probe, '/verify_job']);
        assert.equal(checked.code, 0, JSON.stringify(checked.output));
        return ftpOf(f, ['upload', file, `/${name}`]);
      }),
    );
    for (const [i, result] of uploads.entries())
      assert.equal(result.code, 0, `printer ${i}: ${JSON.stringify(result.output)}`);
    for (const [i, { file, name }] of files.entries()) {
      const storage = demo.info.printers[i]?.ftpDir as string;
      // The demo's printers take uploads store-and-forward: the 226 comes once Moat has the file, and the drain
      // puts it on the printer (under a temporary name, renamed when complete) right after.
      await waitFor(() => existsSync(join(storage, name)), { what: `printer ${i} to have ${name}` });
      assert.equal(await sha256File(join(storage, name)), await sha256File(file), `printer ${i} holds its file`);
      for (const [j, other] of files.entries()) {
        if (j !== i) assert.throws(() => readFileSync(join(storage, other.name)), `printer ${i} has no file of ${j}`);
      }
    }
    // Printer 2 (index 1) alone is told to print its file.
    const [, b] = files;
    assert.ok(b);
    const client = await mqttOf(b.f, code('operator'));
    clients.push(client);
    const topic = `device/${b.f.serial}/report`;
    const reports = collectMessages(client, topic) as Report[];
    await client.subscribeAsync(topic);
    await client.publishAsync(
      `device/${b.f.serial}/request`,
      JSON.stringify({
        print: {
          sequence_id: 'p1',
          command: 'project_file',
          param: 'Metadata/plate_1.gcode',
          url: `ftp://${b.name}`,
          md5: 'from_sd_card',
          subtask_name: 'part',
          use_ams: false,
        },
      }),
    );
    await waitFor(() => reports.some((r) => r.print?.gcode_state === 'RUNNING'), { what: 'printer 2 printing' });
    for (const i of [0, 2]) {
      const state = front(i).plane.mqtt.printers()[0]?.state as Record<string, unknown> | undefined;
      assert.notEqual(state?.gcode_state, 'RUNNING', `printer ${i + 1} does not print`);
    }
  });

  test("the camera relay on A's address reaches A's camera only", async () => {
    const a = front(0);
    const relay = a.plane.relays.stats().find((r) => r.name === 'camera jpeg');
    assert.ok(relay, JSON.stringify(a.plane.relays.stats()));
    const before = demo.simulators.map((s) => s.stats.tcpConnections.tunnel);
    // The camera's TLS is the printer's own, end to end: the certificate that answers names the printer.
    const socket = tlsConnect({ host: a.lanAddress, port: relay.listenPort, rejectUnauthorized: false });
    try {
      await once(socket, 'secureConnect');
      assert.equal(socket.getPeerCertificate().subject.CN, a.serial);
      await waitFor(() => (demo.simulators[0]?.stats.tcpConnections.tunnel ?? 0) > (before[0] ?? 0), {
        what: "the connection at A's camera",
      });
    } finally {
      socket.destroy();
    }
    assert.equal(relay.target.split(':')[0], demo.simulators[0]?.host);
    assert.deepEqual(
      demo.simulators.slice(1).map((s) => s.stats.tcpConnections.tunnel),
      before.slice(1),
      "B's and C's cameras saw nothing",
    );
  });

  test('a port-6000 file-tunnel session shows as a transfer: its bytes and duration', async () => {
    const x1c = front(1);
    const relay = x1c.plane.relays.stats().find((r) => r.name === 'file tunnel');
    assert.ok(relay, JSON.stringify(x1c.plane.relays.stats()));
    const socket = tlsConnect({ host: x1c.lanAddress, port: relay.listenPort, rejectUnauthorized: false });
    socket.on('error', () => {});
    await once(socket, 'secureConnect');
    socket.end(Buffer.alloc(64 * 1024, 7));
    await once(socket, 'close');
    const transfer = await waitFor(
      () =>
        demo.moat.status
          .transfers()
          .find((t) => t.serial === x1c.serial && t.label === 'file tunnel' && t.state === 'done'),
      { what: 'the tunnel session as a finished transfer' },
    );
    assert.ok(transfer.bytes > 64 * 1024, `${transfer.bytes} bytes: the file and its TLS records`);
    assert.ok((transfer.durationMs ?? -1) >= 0);
  });

  test('10 clients over three printers: exactly one upstream connection per printer', async () => {
    const spread = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
    const received = await Promise.all(
      spread.map(async (i) => {
        const f = front(i);
        const client = await mqttOf(f, code('viewer'));
        clients.push(client);
        const topic = `device/${f.serial}/report`;
        const reports = collectMessages(client, topic);
        await client.subscribeAsync(topic);
        return reports;
      }),
    );
    await waitFor(() => received.every((r) => r.length > 0), { what: 'a report at every client' });
    assert.deepEqual(
      demo.simulators.map((s) => [s.stats.mqttConnections, s.stats.mqttPeakConnections]),
      [
        [1, 1],
        [1, 1],
        [1, 1],
      ],
    );
  });

  test('an access code limited to printer A opens A and nothing else', async () => {
    const [a, b] = [front(0), front(1)];
    const { entry, code: limited } = await createAccessCode('only A', 'viewer');
    demo.moat.context.config.update((config) => ({
      ...config,
      accessCodes: [...config.accessCodes, { ...entry, printers: [a.serial as string] }],
    }));
    const onA = await mqttOf(a, limited);
    clients.push(onA);
    await assert.rejects(mqttOf(b, limited), /Not authorized|not authorized/i);
    const ftp = await pythonFtps(
      { host: b.lanAddress, port: b.plane.ftp.port, password: limited, caFile: demo.info.moat.caFile },
      ['list'],
    );
    assert.equal(ftp.code, 2);
    assert.match(String(ftp.output.error), /530/);
  });

  test('a fourth printer added in the wizard is served at once, and the other three keep their clients', async () => {
    const open = clients.filter((c) => c.connected);
    assert.ok(open.length >= 10);
    let closed = 0;
    for (const c of open) c.once('close', () => closed++);
    const accessCode = generateAccessCode();
    const sim = await startSimulatedPrinter({
      serial: '01S00C000000004',
      model: 'P2S',
      accessCode,
      host: '127.0.2.4',
      mqtt: { transport: 'tls' },
      ftp: { transport: 'tls', rootDir: join(dir, 'printer-storage-4') },
      statsPort: false,
    });
    try {
      // The owner's way: claim the setup page, test the connection, trust the certificate it shows, save.
      const web = { caFile: demo.info.moat.caFile, baseUrl: demo.info.moat.https.url.replace(/\/$/, '') };
      const owner = await claimAsOwner(web, readClaimCode(demo.info.moat.claimFile), 'several printers owner password');
      const form = {
        serial: sim.serial,
        model: 'P2S',
        address: sim.host,
        lanAddress: '127.0.1.4',
        accessCode,
        mqttPort: sim.ports.mqtt,
        ftpPort: sim.ports.ftp,
      };
      // Not Bambu's CA: the test shows the certificate, the owner trusts it, the second test logs in.
      const first = JSON.parse(
        (await apiRequest(web, owner, 'POST', '/api/printers/test', form)).body,
      ) as ConnectionTestResult;
      assert.equal(first.certificate.trusted, false);
      const pinned = { ...form, certificate: { policy: 'pinned', fingerprint: first.certificate.fingerprint } };
      const tested = await apiRequest(web, owner, 'POST', '/api/printers/test', pinned);
      const verdict = JSON.parse(tested.body) as ConnectionTestResult;
      assert.ok(verdict.certificate.trusted && verdict.mqtt.ok && verdict.ftp.ok, tested.body);
      const saved = await apiRequest(web, owner, 'PUT', '/api/printers', pinned);
      assert.equal(saved.status, 200, saved.body);
      const fourth = await waitFor(() => demo.moat.fronts().find((f) => f.serial === sim.serial && ready(f)), {
        what: 'the fourth printer served',
      });
      assert.equal(fourth.lanAddress, '127.0.1.4');
      const result = await run(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.1.4:${fourth.plane.mqtt.port}`,
          '-CAfile',
          demo.info.moat.caFile,
          '-verify_ip',
          '127.0.1.4',
        ],
        15_000,
        '',
      );
      assert.match(result.stdout, /Verify return code: 0 \(ok\)/);
      assert.match(result.stdout, /subject=CN ?= ?01S00C000000004/);
      const client = await mqttOf(fourth, code('viewer'));
      clients.push(client);
      assert.equal(closed, 0, 'no client of the other printers was disconnected');
      assert.ok(open.every((c) => c.connected));
      assert.deepEqual(
        demo.simulators.map((s) => s.stats.mqttPeakConnections),
        [1, 1, 1],
        'the other printers kept their one upstream connection',
      );
    } finally {
      await sim.close();
    }
  });
});

/** The certificate a front presents on MQTT, as PEM (openssl's own output). */
async function leaf(f: PrinterFront): Promise<string> {
  const result = await run('openssl', ['s_client', '-connect', `${f.lanAddress}:${f.plane.mqtt.port}`], 15_000, '');
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout);
  assert.ok(match, result.stdout);
  return `${match[0]}\n`;
}
