import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relays } from '../../src/relay/service.js';
import { run } from '../helpers/process.js';
import { printerContext } from '../helpers/test-context.js';

test("the relays started alone carry openssl s_client to the printer's own TLS bind service", async (t) => {
  const { sim, tc } = await printerContext(t, { mqtt: false, ftp: false }, { tcpServices: {} });
  const running = await relays.start(tc.ctx);
  t.after(() => running.close());
  const bindTls = running.stats().find((s) => s.name === 'bind tls');
  assert.ok(bindTls, 'the bind TLS relay runs');

  const printerCa = `${tc.dir}/printer-ca.pem`;
  const client = await run(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${bindTls.listenPort}`, '-CAfile', printerCa, '-brief'],
    15_000,
    '',
  );
  assert.match(client.stderr, new RegExp(`CN ?= ?${sim.serial}`), "the printer's certificate, through the relay");
  assert.match(client.stderr, /Verification: OK/);
  assert.equal(running.stats().find((s) => s.name === 'bind tls')?.accepted, 1);
});
