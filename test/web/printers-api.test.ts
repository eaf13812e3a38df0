import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { printerLinkName } from '../../src/appliance/printer-addresses.js';
import { printerSecretName, readSecret } from '../../src/config/secrets.js';
import { type RunningDemo, startDemo } from '../../src/demo.js';
import type { PrinterFront } from '../../src/front/fronts.js';
import { silentLogger } from '../../src/log.js';
import type { DashboardSnapshot, SetupView } from '../../src/web/api-types.js';
import { collectMessages, connectMqtt } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';
import { anonymousSession, apiRequest, claimAsOwner, type FreshMoat, startFreshMoat } from './web-harness.js';

/**
 * Several printers through the wizard API, over real HTTPS with curl: adding them with their LAN addresses,
 * removing one (login and CSRF as everywhere, 404, a validated serial) and what the removal takes with it.
 * Config only: the printer addresses are in 198.51.100.0/24 and Moat's per-printer addresses on 127.0.1.x.
 */

const printer = (n: number, extra: Record<string, unknown> = {}) => ({
  serial: `01P00A00000010${n}`,
  model: 'P1S',
  address: `198.51.100.${10 + n}`,
  lanAddress: `127.0.1.${n}`,
  accessCode: `code-${n}-secret`,
  certificate: { policy: 'bbl-ca' },
  ...extra,
});

describe('printers in the wizard API', () => {
  let moat: FreshMoat;
  let admin: { cookie: string; csrf: string };
  const send = (method: string, path: string, body?: unknown) => apiRequest(moat, admin, method, path, body);
  const config = () => moat.moat.context.config.get();

  before(async () => {
    moat = await startFreshMoat((c) => ({
      ...c,
      segment: {
        ...c.segment,
        address: '198.51.100.1',
        dhcpRangeStart: '198.51.100.100',
        dhcpRangeEnd: '198.51.100.150',
      },
    }));
    admin = await claimAsOwner(moat, moat.claimCode(), 'several printers password');
  });
  after(async () => {
    await moat?.close();
  });

  test('a second printer needs its own LAN address; both are listed with theirs', async () => {
    assert.equal((await send('PUT', '/api/printers', printer(1))).status, 200);
    const without = await send('PUT', '/api/printers', { ...printer(2), lanAddress: undefined });
    assert.equal(without.status, 400);
    assert.equal((JSON.parse(without.body) as { field: string }).field, 'lanAddress');
    const taken = await send('PUT', '/api/printers', printer(2, { lanAddress: '127.0.1.1' }));
    assert.equal(taken.status, 400);
    assert.match((JSON.parse(taken.body) as { error: string }).error, /another printer/);
    assert.equal((await send('PUT', '/api/printers', printer(2, { mac: '02:00:00:5a:00:02' }))).status, 200);
    const view = JSON.parse((await send('GET', '/api/setup')).body) as SetupView;
    assert.deepEqual(
      view.config.printers.map((p) => [p.serial, p.lanAddress]),
      [
        [printer(1).serial, '127.0.1.1'],
        [printer(2).serial, '127.0.1.2'],
      ],
    );
  });

  test('readdressing a printer keeps its stored access code and certificate policy', async () => {
    const { accessCode: _code, certificate: _policy, ...edit } = printer(1, { lanAddress: '127.0.1.9' });
    const saved = await send('PUT', '/api/printers', edit);
    assert.equal(saved.status, 200, saved.body);
    const stored = config().printers.find((p) => p.serial === printer(1).serial);
    assert.equal(stored?.lanAddress, '127.0.1.9');
    assert.equal(stored?.certificate.policy, 'bbl-ca');
    assert.equal(readSecret(moat.paths, printerSecretName(printer(1).serial)), 'code-1-secret');
    const { accessCode: _c, ...unknown } = printer(3);
    const refused = await send('PUT', '/api/printers', unknown);
    assert.equal(refused.status, 400, 'a new printer needs its code');
    assert.equal((JSON.parse(refused.body) as { field: string }).field, 'accessCode');
  });

  test('removing needs a login and the CSRF token; an unknown serial is a 404, a bad one a 400', async () => {
    const path = `/api/printers/${printer(2).serial}`;
    assert.equal((await apiRequest(moat, await anonymousSession(moat), 'DELETE', path)).status, 401);
    assert.equal((await apiRequest(moat, { cookie: admin.cookie }, 'DELETE', path)).status, 403);
    assert.equal((await send('DELETE', '/api/printers/01P00A999999999')).status, 404);
    const bad = await send('DELETE', '/api/printers/not%20a%20serial!');
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as { field: string }).field, 'serial');
    assert.equal(config().printers.length, 2, 'nothing removed');
  });

  test('removing a printer takes its access code and its fixed lease, and nothing of the other', async () => {
    assert.deepEqual(config().segment.reservations, [{ mac: '02:00:00:5a:00:02', address: printer(2).address }]);
    const removed = await send('DELETE', `/api/printers/${printer(2).serial}`);
    assert.equal(removed.status, 200, removed.body);
    assert.deepEqual(
      config().printers.map((p) => p.serial),
      [printer(1).serial],
    );
    assert.deepEqual(config().segment.reservations, []);
    assert.equal(readSecret(moat.paths, printerSecretName(printer(2).serial)), undefined);
    assert.equal(readSecret(moat.paths, printerSecretName(printer(1).serial)), 'code-1-secret');
    assert.equal((await send('DELETE', `/api/printers/${printer(2).serial}`)).status, 404, 'gone');
  });

  test('a DHCP printer without a lease yet: listed as waiting, no front, and another printer may still be added', async () => {
    const { lanAddress: _none, ...waiting } = printer(3);
    const refused = await send('PUT', '/api/printers', waiting);
    assert.equal(refused.status, 400, 'a fixed address is needed beside another printer');
    assert.equal((JSON.parse(refused.body) as { field: string }).field, 'lanAddress');
    const saved = await send('PUT', '/api/printers', { ...waiting, lanAddressing: 'dhcp' });
    assert.equal(saved.status, 200, saved.body);
    assert.deepEqual(config().printers.find((p) => p.serial === printer(3).serial)?.lanAddressing, { method: 'dhcp' });
    const link = printerLinkName(printer(3).serial);
    const overview = JSON.parse((await send('GET', '/api/overview')).body) as DashboardSnapshot;
    const card = overview.printers.find((p) => p.serial === printer(3).serial);
    assert.equal(card?.waitingForLease, link);
    assert.equal(card?.lanAddress, undefined);
    assert.equal(overview.printers.find((p) => p.serial === printer(1).serial)?.lanAddress, '127.0.1.9');
    const view = JSON.parse((await send('GET', '/api/setup')).body) as SetupView;
    assert.equal(view.config.printers.find((p) => p.serial === printer(3).serial)?.lanAddressing.method, 'dhcp');
    assert.equal((await send('PUT', '/api/printers', printer(4))).status, 200, 'it does not block a new printer');
    // The configuration changes are followed in order: once the new printer is served, so was the DHCP one.
    await waitFor(() => moat.moat.fronts().some((f) => f.serial === printer(4).serial), { what: 'the new front' });
    assert.deepEqual(
      moat.moat.fronts().map((f) => f.serial),
      [printer(1).serial, printer(4).serial],
      'nothing listens for the printer waiting for its lease',
    );
  });
});

/** Two simulated printers (the demo's layout): removing one leaves the other's fronts and clients alone. */
describe('removing one of two printers', () => {
  let demo: RunningDemo;
  let dir: string;
  let client: MqttClient | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'moat-remove-'));
    demo = await startDemo({ dir, printers: 2, anyPort: true, logger: silentLogger() });
  });
  after(async () => {
    await client?.endAsync(true).catch(() => {});
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the other printer's MQTT client stays connected and keeps getting reports", async () => {
    const [kept, removed] = demo.moat.fronts() as [PrinterFront, PrinterFront];
    const moat = { caFile: demo.info.moat.caFile, baseUrl: demo.info.moat.https.url.replace(/\/$/, '') };
    const code = /claim code:\s*(\S+)/i.exec(readFileSync(demo.info.moat.claimFile, 'utf8'))?.[1] ?? '';
    const admin = await claimAsOwner(moat, code, 'two printers password');
    client = await connectMqtt({
      host: kept.lanAddress,
      port: kept.plane.mqtt.port,
      caFile: demo.info.moat.caFile,
      password: demo.info.accessCodes.viewer,
    });
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    const topic = `device/${kept.serial}/report`;
    const reports = collectMessages(client, topic);
    await client.subscribeAsync(topic);
    await waitFor(() => reports.length > 0, { what: 'a report before the removal' });

    const response = await apiRequest(moat, admin, 'DELETE', `/api/printers/${removed.serial}`);
    assert.equal(response.status, 200, response.body);
    await waitFor(() => demo.moat.fronts().length === 1, { what: 'the removed printer’s front to close' });
    assert.equal(demo.moat.fronts()[0], kept, 'the same front, not a restarted one');
    const seen = reports.length;
    client.publish(
      `device/${kept.serial}/request`,
      JSON.stringify({ pushing: { sequence_id: '7', command: 'pushall' } }),
    );
    await waitFor(() => reports.length > seen, { what: 'the full state asked for after the removal' });
    assert.equal(kept.plane.mqtt.printers()[0]?.online, true, 'its printer connection is up');
    assert.equal(closed, false, 'the client was never disconnected');
    assert.equal(client.connected, true);
  });
});
