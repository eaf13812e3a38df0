import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requestRestart, restartRequestFile } from './restart.js';

test('a restart request goes to the runtime directory systemd gives moat.service, and nowhere without one', () => {
  assert.equal(restartRequestFile({}), undefined, 'a development run has nothing that would reboot');
  assert.equal(restartRequestFile({ RUNTIME_DIRECTORY: '' }), undefined);
  assert.equal(restartRequestFile({ RUNTIME_DIRECTORY: '/run/moat' }), '/run/moat/reboot-requested');
  // Several RuntimeDirectory= entries arrive joined with ':'; the first is Moat's own.
  assert.equal(restartRequestFile({ RUNTIME_DIRECTORY: '/run/moat:/run/other' }), '/run/moat/reboot-requested');
});

test('the request names why it was made, readable only by Moat', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'moat-restart-'));
  try {
    const file = join(dir, 'reboot-requested');
    await requestRestart(file, 'setup page');
    assert.match(readFileSync(file, 'utf8'), /^\d{4}-\d\d-\d\dT\S+ setup page\n$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
