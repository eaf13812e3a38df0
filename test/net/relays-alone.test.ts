import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { relays } from '../../src/relay/service.js';
import { startSimulatedPrinter } from '../../src/simulator/index.js';
import { run } from '../helpers/ftp-clients.js';
import { testContext } from '../helpers/test-context.js';

test("the relays started alone carry openssl s_client to the printer's own TLS bind service", async (t) => {
  const accessCode = generateAccessCode();
  const sim = await startSimulatedPrinter({
    serial: '01S00C000000001',
    model: 'P1S',
    accessCode,
    mqtt: false,
    ftp: false,
    tcpServices: {},
  });
  t.after(() => sim.close());
  const tc = await testContext({ printer: { sim, accessCode, transports: { mqtt: false, ftp: false } } });
  t.after(() => tc.close());
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
