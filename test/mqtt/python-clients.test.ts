import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Harness } from '../helpers/harness.js';
import { startMqttOnlyHarness } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Moat as Home Assistant's Bambu integration and bambulabs_api see it over MQTT: test/clients/bambu_mqtt.py is
 * client code written as theirs (paho-mqtt 1.x, TLS 1.2, `bblp`, subscribe to the report topic, then pushall
 * and get_version), not one of the project's own helpers.
 */
const client = join(process.cwd(), 'test', 'clients', 'bambu_mqtt.py');

describe('MQTT bridge with a Python paho client (ha-bambulab, bambulabs_api)', () => {
  let h: Harness;
  let request: string;
  before(async () => {
    h = await startMqttOnlyHarness();
    request = `device/${h.serial}/request`;
  });
  after(() => h?.close());

  const paho = (role: 'viewer' | 'operator' | 'admin' | 'wrong', until: string[], publish: string[] = []) => {
    if (!h.moat) throw new Error('the harness runs no Moat');
    const password = role === 'wrong' ? 'zz99zz99' : h.codes[role];
    return run('/usr/bin/python3', [
      client,
      '--host',
      '127.0.0.1',
      '--port',
      String(h.moat.mqtt.port),
      '--password',
      password,
      '--serial',
      h.serial,
      '--cafile',
      h.moatCaFile,
      ...until.flatMap((key) => ['--until', key]),
      ...publish.flatMap((payload) => ['--publish', payload]),
    ]);
  };
  const reports = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { report?: Record<string, Record<string, unknown>> })
      .flatMap((line) => (line.report ? [line.report] : []));
  const simSaw = (payload: string) => h.sim.stats.commands.some((c) => c.payload === payload && c.topic === request);

  test('a viewer gets the full state and the versions it asks for at start, with Moat’s address in it', async () => {
    const result = await paho('viewer', ['gcode_state', 'module']);
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    const received = reports(result.stdout);
    const full = received.find((report) => report.print?.gcode_state !== undefined);
    assert.ok(full, 'a full print state');
    const version = received.find((report) => report.info?.command === 'get_version');
    assert.ok(Array.isArray(version?.info?.module), 'the get_version answer with its modules');
    assert.doesNotMatch(result.stdout, /127\.0\.0\.2/, 'the printer’s own address never reaches the client');
  });

  test("a viewer's pause never reaches the printer; an operator's does", async () => {
    const viewerPause = JSON.stringify({ print: { sequence_id: 'py-v', command: 'pause', param: '' } });
    const operatorPause = JSON.stringify({ print: { sequence_id: 'py-o', command: 'pause', param: '' } });
    const viewer = await paho('viewer', ['gcode_state'], [viewerPause]);
    assert.equal(viewer.code, 0, viewer.stdout + viewer.stderr);
    const audited = await waitFor(
      async () => (await h.moat?.mqtt.audit({ label: 'viewer test' }))?.find((e) => e.command === 'print.pause'),
      { what: "the viewer's pause in the audit log" },
    );
    assert.equal(audited.outcome, 'refused');
    const operator = await paho('operator', ['gcode_state'], [operatorPause]);
    assert.equal(operator.code, 0, operator.stdout + operator.stderr);
    await waitFor(() => simSaw(operatorPause), { what: "the operator's pause at the printer" });
    // One upstream connection keeps order: had the viewer's pause been forwarded, it would be there by now.
    assert.equal(simSaw(viewerPause), false);
  });

  test('a wrong access code is refused at CONNACK', async () => {
    const result = await paho('wrong', ['gcode_state']);
    assert.equal(result.code, 5, result.stdout + result.stderr);
    assert.match(result.stdout, /"refused": [45]/);
  });
});
