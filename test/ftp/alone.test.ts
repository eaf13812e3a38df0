import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { ftpBridge } from '../../src/ftp/bridge.js';
import { curlArgs, printerDirectories } from '../helpers/ftp-clients.js';
import { run } from '../helpers/process.js';
import { printerContext } from '../helpers/test-context.js';

/** Whether ftp-srv's modules are in this process (it is CommonJS: loaded, it is in the require cache). */
const ftpSrvLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/ftp-srv/'));

test('the FTPS bridge started alone lists and uploads through curl, verifying Moat, to the printer', async (t) => {
  const { tc, storage } = await printerContext(t, { mqtt: false, ftp: 'tls' });
  const bridge = await ftpBridge.start(tc.ctx);
  t.after(() => bridge.close());
  assert.equal(ftpSrvLoaded(), false, 'ftp-srv is not loaded before the first FTPS client');

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
  assert.equal(ftpSrvLoaded(), true, 'the first client loaded ftp-srv');

  const model = join(tc.dir, 'alone.3mf');
  writeFileSync(model, 'a model, uploaded through the bridge alone');
  const upload = await run('curl', curlArgs(target('operator'), 'alone.3mf', ['-T', model]));
  assert.equal(upload.code, 0, upload.stderr);
  assert.equal(readFileSync(join(storage, 'alone.3mf'), 'utf8'), 'a model, uploaded through the bridge alone');
});
