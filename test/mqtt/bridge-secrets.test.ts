import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Harness, startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import {
  collectMessages,
  connectMqtt,
  MosquittoProcess,
  moatEndpoint,
  mosquittoArgs,
  waitForPrinterReady,
} from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

type Report = Record<string, Record<string, unknown> | undefined>;

/** The printer's access code never reaches a LAN client: not by asking for it, not in any report. */
describe('MQTT bridge: no printer secret reaches the LAN', () => {
  let h: Harness;
  let lines: Record<string, unknown>[];
  const clients: MqttClient[] = [];
  const processes: MosquittoProcess[] = [];
  /** Every payload a viewer received, as raw text: a leak anywhere in the bytes counts. */
  const viewerPayloads: string[] = [];
  let viewer: MqttClient;
  let topic: string;

  before(async () => {
    const capture = capturingLogger();
    lines = capture.lines;
    h = await startHarness({ ftp: false, logger: capture.logger });
    topic = `device/${h.serial}/report`;
    await waitForPrinterReady(h);
    viewer = await connectMqtt(moatEndpoint(h, 'viewer'));
    clients.push(viewer);
    viewer.on('message', (_t, payload) => viewerPayloads.push(payload.toString('utf8')));
    await viewer.subscribeAsync(topic);
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    for (const p of processes.splice(0)) await p.kill();
    await h.close();
  });

  const noLeak = (texts: string[]) => {
    for (const text of texts) assert.ok(!text.includes(h.printerAccessCode), `the printer code leaked in ${text}`);
  };

  test("an admin's get_access_code is answered by Moat and never reaches the printer", async () => {
    const sub = new MosquittoProcess('mosquitto_sub', [...mosquittoArgs(moatEndpoint(h, 'viewer')), '-t', topic]);
    processes.push(sub);
    await waitFor(() => sub.stdout.some((line) => line.startsWith('{')), {
      what: 'mosquitto_sub to get the full state',
    });
    const admin = await connectMqtt(moatEndpoint(h, 'admin'));
    clients.push(admin);
    const adminGot = collectMessages(admin, topic) as Report[];
    await admin.subscribeAsync(topic);
    await admin.publishAsync(
      `device/${h.serial}/request`,
      JSON.stringify({ system: { sequence_id: 'a1', command: 'get_access_code' } }),
    );
    const reply = await waitFor(() => adminGot.find((m) => m.system?.sequence_id === 'a1')?.system, {
      what: 'Moat to answer',
    });
    assert.equal(reply.result, 'fail');
    assert.match(String(reply.reason), /never leaves Moat/);
    assert.ok(!('access_code' in reply));
    // A command after it reaches the printer: had the first been forwarded, the printer would have seen it by now.
    const ledctrl = JSON.stringify({ system: { sequence_id: 'a2', command: 'ledctrl', led_node: 'chamber_light' } });
    await admin.publishAsync(`device/${h.serial}/request`, ledctrl);
    await waitFor(() => h.sim.stats.commands.some((c) => c.payload === ledctrl), {
      what: 'the next command to reach the printer',
    });
    assert.ok(!h.sim.stats.commands.some((c) => c.payload.includes('get_access_code')));
    const refused = await waitFor(
      async () =>
        (await h.moat?.mqtt.audit({ outcome: 'refused' }))?.find((e) => e.command === 'system.get_access_code'),
      { what: 'the refusal in the audit log' },
    );
    assert.equal(refused.label, 'admin test');
    // Moat's reply went to the admin only, not to the viewers.
    assert.ok(!viewerPayloads.some((p) => p.includes('"a1"')));
    noLeak(sub.stdout);
    noLeak(viewerPayloads);
  });

  test('reports that carry the printer code lose it before the cache and the fan-out', async () => {
    const sub = new MosquittoProcess('mosquitto_sub', [...mosquittoArgs(moatEndpoint(h, 'viewer')), '-t', topic]);
    processes.push(sub);
    await waitFor(() => sub.stdout.some((line) => line.startsWith('{')), {
      what: 'mosquitto_sub to get the full state',
    });
    const code = h.printerAccessCode;
    // What the printer publishes when anyone (another client of the printer, its own screen) asks for the code.
    h.sim.publishReport?.(
      JSON.stringify({
        system: { command: 'get_access_code', sequence_id: 'p1', access_code: code, result: 'success' },
      }),
    );
    h.sim.publishReport?.(
      JSON.stringify({
        print: { command: 'push_status', msg: 1, nozzle_temper: 201.5, access_code: code, note: code },
      }),
    );
    const viewerGot = () => viewerPayloads.map((p) => JSON.parse(p) as Report);
    const answer = await waitFor(() => viewerGot().find((m) => m.system?.sequence_id === 'p1'), {
      what: 'the viewer to get the (cleaned) answer',
    });
    assert.equal(answer.system?.result, 'success');
    assert.ok(!('access_code' in (answer.system ?? {})));
    await waitFor(() => viewerGot().some((m) => m.print?.nozzle_temper === 201.5), {
      what: 'the viewer to get the (cleaned) status',
    });
    await waitFor(() => sub.stdout.some((line) => line.includes('201.5')), { what: 'mosquitto_sub to get the status' });
    noLeak(viewerPayloads);
    noLeak(sub.stdout);
    // The cache merged the cleaned status: a new subscriber's full state and the dashboard's snapshot are clean too.
    const state = h.moat?.mqtt.printers()[0]?.state as Record<string, unknown>;
    assert.equal(state.nozzle_temper, 201.5);
    noLeak([JSON.stringify(state)]);
    const late = await connectMqtt(moatEndpoint(h, 'viewer'));
    clients.push(late);
    const lateGot = collectMessages(late, topic) as Report[];
    await late.subscribeAsync(topic);
    const full = await waitFor(() => lateGot.find((m) => m.print?.msg === 0), {
      what: 'the late subscriber to get the full state',
    });
    assert.equal(full.print?.nozzle_temper, 201.5);
    noLeak([JSON.stringify(full)]);
    noLeak(lines.map((line) => JSON.stringify(line)));
    assert.ok(lines.some((line) => line.msg === 'credentials removed from a report'));
  });
});
