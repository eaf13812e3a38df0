import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClientEvent } from '../../src/events.js';
import { curlArgs, moatFtpTarget, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/** Sessions are reported to the dashboard, and no access code reaches a log line, even at trace level. */
describe('FTPS bridge events and logs', () => {
  let harness: Harness;
  const log = capturingLogger('trace');
  const clientEvents: ClientEvent[] = [];

  before(async () => {
    harness = await startHarness({ mqtt: false, ftp: 'tls', logger: log.logger });
    harness.moat?.context.events.on('client', (event) => clientEvents.push(event));
  });
  after(() => harness?.close());

  it('reports FTP clients connecting and leaving, and logs no access code', async () => {
    const source = join(harness.dir, 'logged.3mf');
    writeRandomFile(source, 10_000);
    const target = moatFtpTarget(harness, 'operator');
    assert.equal((await run('curl', curlArgs(target, 'logged.3mf', ['-T', source]))).code, 0);
    assert.notEqual((await run('curl', curlArgs({ ...target, password: 'wrongcode' }, ''))).code, 0);
    await waitFor(() => clientEvents.some((e) => e.kind === 'disconnected'), {
      what: 'the disconnect event',
      timeoutMs: 5000,
    });

    assert.deepEqual(
      clientEvents.map((e) => [e.protocol, e.kind, e.role, e.label]),
      [
        ['ftp', 'connected', 'operator', 'operator test'],
        ['ftp', 'disconnected', 'operator', 'operator test'],
      ],
    );
    const text = log.text();
    assert.match(text, /FTP client logged in/);
    assert.match(text, /FTP login refused/);
    for (const secret of [...Object.values(harness.codes), harness.printerAccessCode, 'wrongcode'])
      assert.equal(text.includes(secret), false, 'an access code reached the log');
  });
});
