import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNotify } from '../../src/discovery/notify-message.js';
import { discovery } from '../../src/discovery/service.js';
import { startNotifier } from '../../src/simulator/notify.js';
import { announcingTo, listenForAnnouncements } from '../helpers/discovery.js';
import { printerContext } from '../helpers/test-context.js';
import { waitFor } from '../helpers/wait.js';

test('discovery started alone re-announces the configured printer NOTIFY with Moat as Location', async (t) => {
  const { port, announcements } = await listenForAnnouncements(t);
  const { sim, tc } = await printerContext(t, { mqtt: false, ftp: false }, {}, (config) => announcingTo(config, port));
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
