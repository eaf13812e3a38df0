import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { scryptChannel } from '../../src/auth/access-codes.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { connectMqtt, moatEndpoint } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The MQTT client limit is enforced before any password is checked (aedes `preConnect`): a flood of
 * connections over the limit must not cost a scrypt each. The cost is counted on the channel every scrypt
 * verification publishes to, not guessed from timings.
 */
describe('MQTT client limit before login', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  let scryptRuns = 0;
  const countScrypt = (message: unknown) => {
    if ((message as { phase: string }).phase === 'start') scryptRuns++;
  };
  before(async () => {
    h = await startHarness({
      ftp: false,
      configure: (config) => ({ ...config, mqtt: { ...config.mqtt, maxClients: 2, loginDelayBaseMs: 1 } }),
    });
    subscribe(scryptChannel.name, countScrypt);
  });
  after(async () => {
    unsubscribe(scryptChannel.name, countScrypt);
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    await h.close();
  });

  test('50 connections over the limit, each with a new wrong code, are refused with no scrypt work', async () => {
    clients.push(await connectMqtt(moatEndpoint(h, 'viewer')), await connectMqtt(moatEndpoint(h, 'admin')));
    const runsBefore = scryptRuns;
    // One after another: the listener's socket cap (twice the client limit) would otherwise cut most of them
    // before they reach the broker, and this is about the ones that do.
    const outcomes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const password = `over${String(i).padStart(4, '0')}`;
      outcomes.push(
        await connectMqtt({ ...moatEndpoint(h, 'viewer'), password }).then(
          (client) => {
            clients.push(client);
            return 'let in';
          },
          (error: Error) => error.message,
        ),
      );
    }
    assert.deepEqual(new Set(outcomes), new Set(['Connection refused: Server unavailable']));
    assert.equal(scryptRuns - runsBefore, 0, 'no password was checked for a connection over the limit');

    // The counter does count: with a place free, one wrong code costs scrypt work (one per stored code).
    await (clients.shift() as MqttClient).endAsync();
    await waitFor(() => h.moat?.mqtt.clients().length === 1, { what: 'the place to free up' });
    await assert.rejects(connectMqtt({ ...moatEndpoint(h, 'viewer'), password: 'wrongcod' }), /Not authorized/);
    assert.equal(scryptRuns - runsBefore, 3, 'the wrong code was tried against each of the three stored codes');
  });
});
