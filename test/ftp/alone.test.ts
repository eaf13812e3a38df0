import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { ftpBridge } from '../../src/ftp/bridge.js';
import { startSimulatedPrinter } from '../../src/simulator/index.js';
import { curlArgs, printerDirectories, run } from '../helpers/ftp-clients.js';
import { testContext } from '../helpers/test-context.js';

test('the FTPS bridge started alone lists and uploads through curl, verifying Moat, to the printer', async (t) => {
  const accessCode = generateAccessCode();
  const storage = mkdtempSync(join(tmpdir(), 'moat-printer-'));
  t.after(() => rmSync(storage, { recursive: true, force: true }));
  const sim = await startSimulatedPrinter({
    serial: '01S00C000000001',
    model: 'P1S',
    accessCode,
    mqtt: false,
    ftp: { transport: 'tls', rootDir: storage },
  });
  t.after(() => sim.close());
  const tc = await testContext({ printer: { sim, accessCode, transports: { mqtt: false, ftp: 'tls' } } });
  t.after(() => tc.close());
  const bridge = await ftpBridge.start(tc.ctx);
  t.after(() => bridge.close());

  const target = (role: 'viewer' | 'operator') => ({
    port: bridge.port,
    user: 'bblp',
    password: tc.codes[role],
    caFile: tc.moatCaFile,
    tls: true,
  });
  const listing = await run('curl', [...curlArgs(target('viewer'), ''), '--list-only']);
  assert.equal(listing.code, 0, listing.stderr);
  assert.deepEqual(listing.stdout.split(/\r?\n/).filter(Boolean).sort(), [...printerDirectories].sort());

  const model = join(tc.dir, 'alone.3mf');
  writeFileSync(model, 'a model, uploaded through the bridge alone');
  const upload = await run('curl', curlArgs(target('operator'), 'alone.3mf', ['-T', model]));
  assert.equal(upload.code, 0, upload.stderr);
  assert.equal(readFileSync(join(storage, 'alone.3mf'), 'utf8'), 'a model, uploaded through the bridge alone');
});
