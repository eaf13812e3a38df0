import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Harness, startHarness } from '../helpers/harness.js';
import { connectMqtt, MosquittoProcess, moatEndpoint, mosquittoArgs } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/** Wrong codes are refused, and guessing from one address slows that address only. */
describe('MQTT bridge login', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  const maxDelayMs = 2000;
  before(async () => {
    h = await startHarness({
      ftp: false,
      configure: (config) => ({
        ...config,
        mqtt: { ...config.mqtt, loginDelayBaseMs: 50, loginDelayMaxMs: maxDelayMs },
      }),
    });
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    await h.close();
  });

  test('a wrong access code gets CONNACK "not authorized"', async () => {
    const sub = new MosquittoProcess('mosquitto_sub', [
      ...mosquittoArgs({ ...moatEndpoint(h, 'viewer'), password: 'wrongcod' }),
      '-t',
      `device/${h.serial}/report`,
    ]);
    assert.notEqual(await sub.exited, 0);
    assert.match(sub.stderr.join('\n'), /not authori[sz]ed/i);
    // The printer's own access code is not a LAN code either.
    await assert.rejects(
      connectMqtt({ ...moatEndpoint(h, 'viewer'), password: h.printerAccessCode }),
      /Not authorized/,
    );
  });

  test('50 wrong attempts from one address slow it; another address is not slowed', async () => {
    const baselineStart = Date.now();
    clients.push(await connectMqtt(moatEndpoint(h, 'operator'), { localAddress: '127.0.0.3' } as never));
    const baselineMs = Date.now() - baselineStart;
    let settled = 0;
    const wrong = Array.from({ length: 50 }, (_, i) =>
      connectMqtt(
        { ...moatEndpoint(h, 'viewer'), password: `wrong${String(i).padStart(3, '0')}` },
        { connectTimeout: 4000 },
      )
        .then(
          (client) => {
            clients.push(client);
            return 'let in';
          },
          () => 'refused',
        )
        .finally(() => settled++),
    );
    // Once the cap turns guesses away at once, every wrong attempt has arrived; many still wait their delay.
    await waitFor(() => settled >= 10, { what: 'the first guesses to be turned away' });
    const good = await connectMqtt(moatEndpoint(h, 'viewer'), { localAddress: '127.0.0.2' } as never);
    clients.push(good);
    // The event that matters, not a stopwatch: the other address was let in while guesses were still held back.
    assert.ok(settled < 50, 'guesses were still being held back while the other address got in');
    assert.deepEqual(new Set(await Promise.all(wrong)), new Set(['refused']), 'no wrong code got in');

    // Even the right code now waits out the delay on the guessing address …
    const slowStart = Date.now();
    clients.push(await connectMqtt(moatEndpoint(h, 'viewer'), { connectTimeout: 10000 }));
    const slowMs = Date.now() - slowStart;
    assert.ok(slowMs >= maxDelayMs / 2, `the guessing address was let in after ${slowMs} ms`);
    // … while the other address is not slowed at all: it takes what a login took before any guessing (measured
    // at the start of this test, under the same machine load), not the delay on top.
    const fastStart = Date.now();
    clients.push(await connectMqtt(moatEndpoint(h, 'operator'), { localAddress: '127.0.0.2' } as never));
    const fastMs = Date.now() - fastStart;
    assert.ok(fastMs < baselineMs + maxDelayMs / 2, `the other address took ${fastMs} ms (baseline ${baselineMs} ms)`);
  });
});
