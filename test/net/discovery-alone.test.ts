import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { parseNotify } from '../../src/discovery/notify-message.js';
import { discovery } from '../../src/discovery/service.js';
import { startSimulatedPrinter } from '../../src/simulator/index.js';
import { startNotifier } from '../../src/simulator/notify.js';
import { announcingTo, listenForAnnouncements } from '../helpers/discovery.js';
import { testContext } from '../helpers/test-context.js';
import { waitFor } from '../helpers/wait.js';

test('discovery started alone re-announces the configured printer NOTIFY with Moat as Location', async (t) => {
  const { port, announcements } = await listenForAnnouncements(t);
  const accessCode = generateAccessCode();
  const sim = await startSimulatedPrinter({
    serial: '01S00C000000001',
    model: 'P1S',
    accessCode,
    mqtt: false,
    ftp: false,
  });
  t.after(() => sim.close());
  const tc = await testContext({
    printer: { sim, accessCode, transports: { mqtt: false, ftp: false } },
    configure: (config) => announcingTo(config, port),
  });
  t.after(() => tc.close());
  const relay = await discovery.start(tc.ctx);
  t.after(() => relay.close());
  const notifier = await startNotifier({
    serial: sim.serial,
    model: sim.model,
    location: '127.0.0.1',
    targetHost: '127.0.0.1',
    targetPort: relay.ports.notify,
    intervalMs: 200,
    bindAddress: '127.0.0.1',
    stats: sim.stats,
  });
  t.after(() => notifier.close());

  const parsed = parseNotify(await waitFor(() => announcements[0], { what: 're-announced NOTIFY' }));
  assert.ok(parsed.ok);
  assert.equal(parsed.notify.serial, sim.serial);
  assert.equal(parsed.notify.location, '127.0.0.2');
  assert.ok(relay.stats().relayed >= 1);
});
