import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type SimulatedPrinter, startSimulatedPrinter } from '../../src/simulator/index.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import {
  connectMqtt,
  MosquittoProcess,
  moatEndpoint,
  mosquittoArgs,
  waitForPrinterReady,
} from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/** The printer goes away and comes back 20 times; LAN clients never notice more than the availability. */
describe('MQTT bridge across printer restarts', () => {
  let h: Harness;
  let sim: SimulatedPrinter | undefined;
  const clients: MqttClient[] = [];
  let mosquitto: MosquittoProcess | undefined;
  before(async () => {
    h = await startHarness({
      model: 'P1S',
      ftp: false,
      configure: (config) => ({ ...config, mqtt: { ...config.mqtt, upstreamRetryMinMs: 50, upstreamRetryMaxMs: 400 } }),
    });
    await waitForPrinterReady(h);
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    await mosquitto?.kill();
    await sim?.close();
    await h.close();
  });

  test('20 restarts: clients stay connected, availability follows, state returns, offline commands refused', async () => {
    const report = `device/${h.serial}/report`;
    const availability = `moat/${h.serial}/availability`;
    const viewer = await connectMqtt(moatEndpoint(h, 'viewer'));
    const operator = await connectMqtt(moatEndpoint(h, 'operator'));
    clients.push(viewer, operator);
    let disconnects = 0;
    for (const c of [viewer, operator]) c.on('close', () => disconnects++);
    const states: string[] = [];
    let fullStates = 0;
    viewer.on('message', (topic, payload) => {
      if (topic === availability) states.push(payload.toString());
      else if (topic === report && payload.includes('"msg":0')) fullStates++;
    });
    await viewer.subscribeAsync([report, availability]);
    mosquitto = new MosquittoProcess('mosquitto_sub', [
      ...mosquittoArgs(moatEndpoint(h, 'viewer')),
      '-t',
      availability,
    ]);
    await mosquitto.waitForLine(/^online$/);

    const port = h.sim.ports.mqtt as number;
    let current: SimulatedPrinter = h.sim;
    for (let round = 1; round <= 20; round++) {
      await current.close();
      await waitFor(() => states.at(-1) === 'offline', { what: `offline in round ${round}` });
      const command = JSON.stringify({ print: { sequence_id: `off${round}`, command: 'pause', param: '' } });
      await operator.publishAsync(`device/${h.serial}/request`, command, { qos: 1 });
      await waitFor(
        async () =>
          (await h.moat?.mqtt.audit({ outcome: 'refused', label: 'operator test' }))?.filter(
            (e) => e.reason === 'printer offline',
          ).length === round,
        { what: `the offline refusal in round ${round}` },
      );

      const fullStatesBefore = fullStates;
      sim = await startSimulatedPrinter({
        serial: h.serial,
        model: 'P1S',
        accessCode: h.printerAccessCode,
        pki: h.sim.pki,
        mqtt: { transport: 'tls', port },
        ftp: false,
        statsPort: false,
      });
      current = sim;
      // Moat's retry delay is capped at 400 ms here: the state is back once a full state arrives.
      await waitFor(() => fullStates > fullStatesBefore, {
        what: `state flowing again in round ${round}`,
        timeoutMs: 10000,
      });
      assert.equal(states.at(-1), 'online');
      // The printer never saw the command sent while it was away.
      assert.ok(!current.stats.commands.some((c) => c.payload === command));
    }
    assert.equal(disconnects, 0, 'LAN clients were never dropped');
    assert.ok(viewer.connected && operator.connected);
    assert.equal(mosquitto.exitCode, undefined, 'mosquitto_sub is still connected');
    assert.equal(mosquitto.stdout.filter((l) => l === 'offline').length, 20);
    assert.equal(mosquitto.stdout.filter((l) => l === 'online').length, 21);
  });
});
