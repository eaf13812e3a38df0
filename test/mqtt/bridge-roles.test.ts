import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { ipv4ToUint32LE } from '../../src/net/ipv4-uint32.js';
import type { Harness } from '../helpers/harness.js';
import {
  connectMqtt,
  MosquittoProcess,
  moatEndpoint,
  mosquittoArgs,
  startMqttOnlyHarness,
} from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Roles decide what reaches the printer; the simulator's command log is the proof. The printer sits on
 * 127.0.0.2 and Moat on 127.0.0.1, so the address rewrite is observable.
 */
describe('MQTT bridge roles, audit, rewrite and availability', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  let request: string;
  let report: string;
  before(async () => {
    h = await startMqttOnlyHarness();
    request = `device/${h.serial}/request`;
    report = `device/${h.serial}/report`;
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    await h.close();
  });
  const connect = async (role: 'viewer' | 'operator' | 'admin') => {
    const client = await connectMqtt(moatEndpoint(h, role));
    clients.push(client);
    return client;
  };
  const simSaw = (payload: string) => h.sim.stats.commands.some((c) => c.payload === payload && c.topic === request);

  test("a viewer's gcode_line and pause never reach the printer and are audited as refused", async () => {
    const viewer = await connect('viewer');
    const gcode = JSON.stringify({ print: { sequence_id: 'v1', command: 'gcode_line', param: 'G28\n' } });
    const pause = JSON.stringify({ print: { sequence_id: 'v2', command: 'pause', param: '' } });
    const version = JSON.stringify({ info: { sequence_id: 'v3', command: 'get_version' } });
    await viewer.publishAsync(request, gcode, { qos: 1 });
    await viewer.publishAsync(request, pause, { qos: 1 });
    await viewer.publishAsync(request, version, { qos: 1 });
    // get_version is the viewer's to send: once it has arrived, the two before it would have too.
    await waitFor(() => simSaw(version), { what: 'get_version to reach the printer' });
    assert.ok(!simSaw(gcode) && !simSaw(pause));
    const refused = await h.moat?.mqtt.audit({ outcome: 'refused', label: 'viewer test' });
    assert.deepEqual(
      refused?.map((e) => e.command),
      ['print.gcode_line', 'print.pause'],
    );
    assert.match(refused?.[0]?.reason ?? '', /viewer may not send print.gcode_line/);
    assert.equal(viewer.connected, true, 'a refused command does not cost the connection');
  });

  test("an operator's pause reaches the printer and its result is audited", async () => {
    const operator = await connect('operator');
    await operator.publishAsync(
      request,
      JSON.stringify({ print: { sequence_id: 'o1', command: 'project_file', param: 'x' } }),
    );
    const pause = JSON.stringify({ print: { sequence_id: 'o2', command: 'pause', param: '' } });
    await operator.publishAsync(request, pause, { qos: 1 });
    await waitFor(() => simSaw(pause), { what: 'pause to reach the printer' });
    const entry = await waitFor(
      async () =>
        (await h.moat?.mqtt.audit({ label: 'operator test' }))?.find((e) => e.command === 'print.pause' && e.result),
      { what: 'the audited result' },
    );
    assert.equal(entry.outcome, 'allowed');
    assert.equal(entry.result, 'success');
    const gcode = JSON.stringify({ print: { sequence_id: 'o3', command: 'gcode_line', param: 'M104 S0\n' } });
    await operator.publishAsync(request, gcode, { qos: 1 });
    const refused = await waitFor(
      async () => (await h.moat?.mqtt.audit({ label: 'operator test', outcome: 'refused' }))?.at(0),
      { what: 'the refusal in the audit log' },
    );
    assert.equal(refused.command, 'print.gcode_line');
    assert.ok(!simSaw(gcode));
  });

  test("an admin's gcode_line reaches the printer byte for byte", async () => {
    const admin = await connect('admin');
    // Odd spacing, a signature header and non-ASCII text: forwarded exactly as sent.
    const payload = `{ "header" : {"sign_ver":"v1.0","sign_string":"q83v+/=="},\n  "print":{"command":"gcode_line","param":"M117 Grüße\\n","sequence_id":"a1"}  }`;
    await admin.publishAsync(request, Buffer.from(payload, 'utf8'), { qos: 1 });
    await waitFor(() => simSaw(payload), { what: 'gcode_line to reach the printer' });
  });

  test('subscriptions outside the report topic and moat/ are refused', async () => {
    const sub = new MosquittoProcess('mosquitto_sub', [
      ...mosquittoArgs(moatEndpoint(h, 'admin')),
      '-d',
      ...[request, '#', 'device/+/request', '$SYS/#', report].flatMap((t) => ['-t', t]),
    ]);
    try {
      const line = await sub.waitForLine(/^Subscribed \(mid: \d+\):/);
      assert.match(line, /: 128, 128, 128, 128, 0$/);
    } finally {
      await sub.kill();
    }
  });

  test('reports carry Moat’s address instead of the printer’s; other bytes are unchanged', async () => {
    const viewer = await connect('viewer');
    const direct = await connectMqtt({
      host: h.sim.host,
      port: h.sim.ports.mqtt ?? 0,
      caFile: h.printerCaFile,
      password: h.printerAccessCode,
    });
    clients.push(direct);
    const viaMoat: Buffer[] = [];
    const fromPrinter: Buffer[] = [];
    viewer.on('message', (_t, p) => viaMoat.push(p));
    direct.on('message', (_t, p) => fromPrinter.push(p));
    await viewer.subscribeAsync(report);
    await direct.subscribeAsync(report);
    const full = await waitFor(() => viaMoat.find((p) => p.includes('"msg":0')), { what: 'the cached full state' });
    const state = JSON.parse(full.toString()) as {
      print: { net: { info: { ip: number }[] }; ipcam: { rtsp_url: string } };
    };
    assert.equal(state.print.net.info[0]?.ip, ipv4ToUint32LE('127.0.0.1'));
    assert.equal(state.print.ipcam.rtsp_url, 'rtsps://127.0.0.1/streaming/live/1');

    const admin = await connect('admin');
    await admin.publishAsync(request, JSON.stringify({ pushing: { sequence_id: 'r1', command: 'pushall' } }));
    await admin.publishAsync(request, JSON.stringify({ print: { sequence_id: 'r2', command: 'stop', param: '' } }));
    const isStop = (p: Buffer) => p.includes('"sequence_id":"r2"');
    await waitFor(() => viaMoat.some(isStop) && fromPrinter.some(isStop), { what: 'the stop answer on both sides' });
    assert.deepEqual(
      viaMoat.find(isStop),
      fromPrinter.find(isStop),
      'an answer without addresses is forwarded unchanged',
    );
    // X1 pushes its full state after the stop: the same bytes but for the two rewritten addresses.
    const pushed = (list: Buffer[]) => list.find((p) => p.includes('"gcode_state":"FAILED"') && p.includes('"msg":0'));
    await waitFor(() => pushed(viaMoat) && pushed(fromPrinter), { what: 'the full push after stop on both sides' });
    const expected = (pushed(fromPrinter) as Buffer)
      .toString('latin1')
      .replace(`"ip":${ipv4ToUint32LE('127.0.0.2')}`, `"ip":${ipv4ToUint32LE('127.0.0.1')}`)
      .replace('rtsps://127.0.0.2/', 'rtsps://127.0.0.1/');
    assert.equal((pushed(viaMoat) as Buffer).toString('latin1'), expected);
  });

  test("another access code cannot take over a client's session by reusing its client id", async () => {
    const admin = await connectMqtt(moatEndpoint(h, 'admin'), { clientId: 'bambu-studio' });
    clients.push(admin);
    await assert.rejects(connectMqtt(moatEndpoint(h, 'viewer'), { clientId: 'bambu-studio' }), /Identifier rejected/);
    assert.equal(admin.connected, true);
    // The same access code may reconnect under its id (a slicer restarting).
    const again = await connectMqtt(moatEndpoint(h, 'admin'), { clientId: 'bambu-studio' });
    clients.push(again);
    assert.equal(again.connected, true);
  });

  test('the retained availability says online', async () => {
    const viewer = await connect('viewer');
    const got: string[] = [];
    viewer.on('message', (topic, payload, packet) => {
      if (topic === `moat/${h.serial}/availability` && packet.retain) got.push(payload.toString());
    });
    await viewer.subscribeAsync(`moat/${h.serial}/availability`);
    assert.deepEqual(await waitFor(() => got.length > 0 && got, { what: 'the retained availability' }), ['online']);
  });
});
