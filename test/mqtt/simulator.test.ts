import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
import { collectMessages, connectMqtt, MosquittoProcess, mosquittoArgs } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/** The simulated printer's broker, proven with real clients and without Moat in front of it. */
describe('simulated printer MQTT', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  const processes: MosquittoProcess[] = [];
  const endpoint = () => ({ port: h.sim.ports.mqtt ?? 0, caFile: h.printerCaFile, password: h.printerAccessCode });

  before(async () => {
    h = await startHarness({
      model: 'P1S',
      // The FTP storage is where project_file looks for its file.
      simulatorOnly: true,
      simulator: { mqtt: { transport: 'tls', printTickMs: 50 } },
    });
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    for (const p of processes.splice(0)) await p.kill();
    await h.close();
  });
  const closeAll = async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    for (const p of processes.splice(0)) await p.kill();
    await waitFor(() => h.sim.stats.mqttConnections === 0, { what: 'the simulator to see every client gone' });
  };

  test('mosquitto_sub over TLS with the simulator CA receives a full report after a pushall', async () => {
    const topic = `device/${h.serial}/report`;
    const sub = new MosquittoProcess('mosquitto_sub', [...mosquittoArgs(endpoint()), '-t', topic, '-C', '1', '-d']);
    processes.push(sub);
    await sub.waitForLine(/received SUBACK/);
    const pub = new MosquittoProcess('mosquitto_pub', [
      ...mosquittoArgs(endpoint()),
      '-t',
      `device/${h.serial}/request`,
      '-m',
      '{"pushing":{"sequence_id":"7","command":"pushall"}}',
    ]);
    processes.push(pub);
    assert.equal(await pub.exited, 0, pub.stderr.join('\n'));
    const line = await sub.waitForLine(/^\{/);
    const report = JSON.parse(line) as { print: Record<string, unknown> };
    assert.equal(report.print.command, 'push_status');
    assert.equal(report.print.sequence_id, '7');
    // The whole fixture state: nozzle, bed, AMS and network fields all present.
    for (const field of ['nozzle_temper', 'bed_temper', 'gcode_state', 'net', 'lights_report', 'ams']) {
      assert.ok(field in report.print, `full report lacks ${field}`);
    }
    assert.equal(h.sim.stats.pushallCount, 1);
    await closeAll();
  });

  test('the fifth connection is refused under the default limit of four', async () => {
    for (let i = 0; i < 4; i++) clients.push(await connectMqtt(endpoint()));
    assert.equal(h.sim.stats.mqttConnections, 4);
    await assert.rejects(connectMqtt(endpoint()), /unavailable/i);
    const cli = new MosquittoProcess('mosquitto_sub', [
      ...mosquittoArgs(endpoint()),
      '-t',
      `device/${h.serial}/report`,
    ]);
    processes.push(cli);
    assert.notEqual(await cli.exited, 0);
    assert.match(cli.stderr.join('\n'), /unavailable/i);
    assert.equal(h.sim.stats.mqttConnections, 4);
    assert.ok(h.sim.stats.mqttRefusedConnections >= 2);
    await closeAll();
  });

  test('a wrong access code is refused', async () => {
    await assert.rejects(connectMqtt({ ...endpoint(), password: 'wrongcod' }), /Bad username or password/i);
  });

  test('a client subscribing to the request topic is dropped, by name or by a wildcard that covers it', async () => {
    for (const filter of [`device/${h.serial}/request`, 'device/+/request', 'device/#', '#']) {
      const client = await connectMqtt(endpoint());
      clients.push(client);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.subscribe(filter);
      await closed;
      assert.equal(client.connected, false, filter);
    }
    // A wildcard that does not reach the request topic is an ordinary subscription.
    const reader = await connectMqtt(endpoint());
    clients.push(reader);
    const granted = await reader.subscribeAsync('device/+/report');
    assert.equal(granted[0]?.qos, 0);
    assert.equal(reader.connected, true);
    await closeAll();
  });

  test('commands: sequence_id echoed, get_version from the fixture, a print advances and pauses, unknown fails', async () => {
    const client = await connectMqtt(endpoint());
    clients.push(client);
    const topic = `device/${h.serial}/report`;
    const received = collectMessages(client, topic);
    await client.subscribeAsync(topic);
    const send = (message: unknown) => client.publishAsync(`device/${h.serial}/request`, JSON.stringify(message));
    const find = (kind: string, seq: string) =>
      received.find((m) => (m[kind] as Record<string, unknown> | undefined)?.sequence_id === seq)?.[kind] as
        | Record<string, unknown>
        | undefined;

    await send({ info: { sequence_id: '11', command: 'get_version' } });
    const version = await waitFor(() => find('info', '11'), { what: 'get_version answer' });
    assert.equal((version.module as { sn: string }[])[0]?.sn, h.serial);

    const projectFile = (sequenceId: string) =>
      send({
        print: {
          sequence_id: sequenceId,
          command: 'project_file',
          param: 'Metadata/plate_1.gcode',
          url: 'ftp://a.3mf',
          md5: 'from_sd_card',
        },
      });
    await projectFile('10');
    const missing = await waitFor(() => find('print', '10'), { what: 'project_file answer for a missing file' });
    assert.equal(missing.result, 'fail');
    assert.match(String(missing.reason), /not found/);
    await waitFor(() => received.find((m) => (m.print as Record<string, unknown>)?.print_error === 0x05004002), {
      what: 'print_error pushed',
    });
    assert.ok(!received.some((m) => (m.print as Record<string, unknown>)?.gcode_state === 'RUNNING'));

    writeFileSync(join(printerStorage(h), 'a.3mf'), 'a print');
    await projectFile('12');
    assert.equal((await waitFor(() => find('print', '12'), { what: 'project_file answer' })).result, 'success');
    // P1S pushes deltas: progress arrives as small messages carrying only what changed.
    const progress = await waitFor(
      () => received.find((m) => Number((m.print as Record<string, unknown>)?.mc_percent) >= 10),
      { what: 'progress past 10 %' },
    );
    const delta = progress.print as Record<string, unknown>;
    assert.ok(Number(delta.layer_num) > 0 && delta.gcode_state === 'RUNNING' && delta.mc_remaining_time !== undefined);
    assert.ok(!('nozzle_temper' in delta), 'a P1 delta should not carry the full state');

    await send({ print: { sequence_id: '13', command: 'pause', param: '' } });
    assert.equal((await waitFor(() => find('print', '13'), { what: 'pause answer' })).result, 'success');
    await waitFor(() => received.find((m) => (m.print as Record<string, unknown>)?.gcode_state === 'PAUSE'), {
      what: 'PAUSE state pushed',
    });
    await send({ print: { sequence_id: '14', command: 'frobnicate' } });
    const unknown = await waitFor(() => find('print', '14'), { what: 'unknown command answer' });
    assert.equal(unknown.result, 'fail');
    await send({ print: { sequence_id: '15', command: 'stop', param: '' } });
    assert.equal((await waitFor(() => find('print', '15'), { what: 'stop answer' })).result, 'success');
    client.publish(`device/${h.serial}/request`, '{not json');
    await send({ info: { sequence_id: '16', command: 'get_version' } });
    await waitFor(() => find('info', '16'), { what: 'the broker still answering after garbage' });
    await send({ system: { sequence_id: '17', command: 'get_access_code' } });
    assert.equal(
      (await waitFor(() => find('system', '17'), { what: 'get_access_code answer' })).access_code,
      h.printerAccessCode,
    );
    const seen = h.sim.stats.commands.map((c) => c.payload);
    assert.ok(seen.includes('{not json'), 'every payload is recorded as received');
    await closeAll();
  });
});
