import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import type { MqttClient } from 'mqtt';
import { type Harness, startHarness } from '../helpers/harness.js';
import { connectMqtt, moatEndpoint, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/** The limits in config.mqtt hold against real clients. */
describe('MQTT bridge limits', () => {
  let h: Harness;
  const clients: MqttClient[] = [];
  before(async () => {
    h = await startHarness({
      ftp: false,
      configure: (config) => ({
        ...config,
        mqtt: { ...config.mqtt, maxClients: 2, publishesPerSecond: 1, publishBurst: 2, connectTimeoutMs: 300 },
      }),
    });
    await waitForPrinterReady(h);
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => {});
    await h.close();
  });

  test('a client past maxClients is refused; a place frees up when one leaves', async () => {
    const first = await connectMqtt(moatEndpoint(h, 'viewer'));
    const second = await connectMqtt(moatEndpoint(h, 'admin'));
    clients.push(first, second);
    await assert.rejects(connectMqtt(moatEndpoint(h, 'operator')), /Server unavailable/);
    await first.endAsync();
    await waitFor(() => h.moat?.mqtt.clients().length === 1, { what: 'the place to free up' });
    clients.push(await connectMqtt(moatEndpoint(h, 'operator')));
  });

  test('publishes past the per-client rate are refused and audited, and never reach the printer', async () => {
    const admin = clients.find((c) => c.connected) as MqttClient;
    const request = `device/${h.serial}/request`;
    const payloads = Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({ info: { sequence_id: `rate${i}`, command: 'get_version' } }),
    );
    // Sent as one burst: at 1 per second only the burst of 2 gets through.
    await Promise.all(payloads.map((payload) => admin.publishAsync(request, payload, { qos: 1 })));
    const refused = await waitFor(
      async () => {
        const entries = (await h.moat?.mqtt.audit({ outcome: 'refused' }))?.filter(
          (e) => e.reason === 'publish rate limit',
        );
        return entries !== undefined && entries.length >= 3 && entries;
      },
      { what: 'the refusals in the audit log' },
    );
    assert.equal(refused.length, 3);
    await waitFor(() => payloads.slice(0, 2).every((p) => h.sim.stats.commands.some((c) => c.payload === p)), {
      what: 'the two allowed ones at the printer',
    });
    assert.ok(!payloads.slice(2).some((p) => h.sim.stats.commands.some((c) => c.payload === p)));
    assert.equal(admin.connected, true);
  });

  test('a connection that never sends CONNECT is closed after connectTimeoutMs', { timeout: 20000 }, async () => {
    const socket = connect({
      host: '127.0.0.1',
      port: h.moat?.mqtt.port as number,
      ca: readFileSync(h.moatCaFile),
      checkServerIdentity: () => undefined,
    });
    socket.on('error', () => {});
    let securedAt: number | undefined;
    socket.once('secureConnect', () => {
      securedAt = performance.now();
    });
    const closedAt = await new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
    // A close that comes at once (or before the handshake) is not the timeout: it must come after the TLS
    // handshake and no sooner than the timeout allows. Timers never fire early, so this lower bound holds under
    // any load; the server starts its clock a little before the client sees the handshake end, hence the margin.
    assert.ok(securedAt !== undefined, 'the TLS handshake completed before Moat closed the connection');
    const connectTimeoutMs = h.moat?.context.config.get().mqtt.connectTimeoutMs as number;
    assert.ok(closedAt - securedAt >= connectTimeoutMs * 0.8, `closed ${closedAt - securedAt} ms after the handshake`);
    socket.destroy();
  });
});
