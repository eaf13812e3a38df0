import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Harness, startHarness } from '../helpers/harness.js';
import {
  collectMessages,
  connectMqtt,
  MosquittoProcess,
  moatEndpoint,
  mosquittoArgs,
  waitForPrinterReady,
} from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/** Many LAN clients, one printer connection; the state cache answers new subscribers and pushall. */
describe('MQTT bridge fan-out and state cache', () => {
  const harnesses: Harness[] = [];
  const clients: MqttClient[] = [];
  const processes: MosquittoProcess[] = [];
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    for (const p of processes.splice(0)) await p.kill();
    for (const h of harnesses.splice(0)) await h.close();
  });

  const start = async (model: string) => {
    const h = await startHarness({ model, ftp: false, simulator: { mqtt: { transport: 'tls', printTickMs: 100 } } });
    harnesses.push(h);
    await waitForPrinterReady(h);
    return h;
  };

  test('three different clients receive reports while the printer sees one connection', async () => {
    const h = await start('X1C');
    const topic = `device/${h.serial}/report`;
    const sub = new MosquittoProcess('mosquitto_sub', [...mosquittoArgs(moatEndpoint(h, 'viewer')), '-t', topic]);
    processes.push(sub);
    const viewer = await connectMqtt(moatEndpoint(h, 'viewer'));
    const admin = await connectMqtt(moatEndpoint(h, 'admin'), { protocolVersion: 4, clientId: 'ha-like' });
    clients.push(viewer, admin);
    const got = [collectMessages(viewer, topic), collectMessages(admin, topic)];
    await Promise.all([viewer.subscribeAsync(topic), admin.subscribeAsync(topic, { qos: 1 })]);
    await admin.publishAsync(
      `device/${h.serial}/request`,
      JSON.stringify({ print: { sequence_id: '1', command: 'project_file', param: 'Metadata/plate_1.gcode' } }),
    );
    const progressed = (m: Record<string, unknown>) => Number((m.print as Record<string, unknown>)?.mc_percent) >= 6;
    await waitFor(() => got.every((list) => list.some(progressed)), {
      what: 'both mqtt.js clients to see the print advance',
    });
    await waitFor(() => sub.stdout.some((line) => line.startsWith('{') && progressed(JSON.parse(line))), {
      what: 'mosquitto_sub to see the print advance',
    });
    assert.equal(h.sim.stats.mqttConnections, 1);
    assert.equal(h.sim.stats.mqttPeakConnections, 1);
    assert.equal(h.moat?.mqtt.clients().length, 3);
  });

  test('an A1 (limit 1) serves five LAN clients at once', async () => {
    const h = await start('A1');
    const topic = `device/${h.serial}/report`;
    const five = await Promise.all(Array.from({ length: 5 }, () => connectMqtt(moatEndpoint(h, 'viewer'))));
    clients.push(...five);
    const got = five.map((c) => collectMessages(c, topic));
    await Promise.all(five.map((c) => c.subscribeAsync(topic)));
    await waitFor(() => got.every((list) => list.length > 0), { what: 'all five to get the full state' });
    const operator = await connectMqtt(moatEndpoint(h, 'operator'));
    clients.push(operator);
    await operator.publishAsync(
      `device/${h.serial}/request`,
      JSON.stringify({ print: { command: 'project_file', param: 'a' } }),
    );
    await waitFor(
      () => got.every((list) => list.some((m) => (m.print as Record<string, unknown>)?.gcode_state === 'RUNNING')),
      { what: 'all five to see the print start' },
    );
    assert.equal(h.sim.stats.mqttPeakConnections, 1);
    assert.equal(h.sim.stats.mqttRefusedConnections, 0);
  });

  test('P1: a new subscriber gets the full state from the cache without an upstream pushall; 20 pushalls cost at most one', async () => {
    const h = await start('P1S');
    const topic = `device/${h.serial}/report`;
    const pushallsBefore = h.sim.stats.pushallCount;
    const client = await connectMqtt(moatEndpoint(h, 'viewer'));
    clients.push(client);
    const got = collectMessages(client, topic);
    await client.subscribeAsync(topic);
    // From the cache: the printer is not asked (checked below), so the answer cannot have come from it.
    const full = await waitFor(() => got.find((m) => (m.print as Record<string, unknown>)?.msg === 0), {
      what: 'a full state',
    });
    for (const field of ['nozzle_temper', 'bed_temper', 'ams', 'net', 'lights_report']) {
      assert.ok(field in (full.print as Record<string, unknown>), `full state lacks ${field}`);
    }
    assert.equal(h.sim.stats.pushallCount, pushallsBefore, 'the printer was not asked');

    const twenty = await Promise.all(Array.from({ length: 20 }, () => connectMqtt(moatEndpoint(h, 'viewer'))));
    clients.push(...twenty);
    const answers = twenty.map((c) => collectMessages(c, topic));
    await Promise.all(twenty.map((c) => c.subscribeAsync(topic)));
    await Promise.all(
      twenty.map((c, i) =>
        c.publishAsync(
          `device/${h.serial}/request`,
          JSON.stringify({ pushing: { sequence_id: `p${i}`, command: 'pushall' } }),
        ),
      ),
    );
    await waitFor(
      () => answers.every((list, i) => list.some((m) => (m.print as Record<string, unknown>)?.sequence_id === `p${i}`)),
      { what: 'every client to get its own pushall answer' },
    );
    const refused = await h.moat?.mqtt.audit({ outcome: 'refused' });
    assert.deepEqual(refused, []);
    assert.ok(
      h.sim.stats.pushallCount - pushallsBefore <= 1,
      `upstream pushalls: ${h.sim.stats.pushallCount - pushallsBefore}`,
    );
  });
});
