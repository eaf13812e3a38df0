import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { curlArgs, moatFtpTarget, sha256File, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
import { type MoatProcess, startMoatProcess } from '../helpers/moat-process.js';
import { connectMqtt, moatEndpoint, mosquittoArgs } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { projectFile, spoolOn } from '../helpers/spool.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Moat killed with SIGKILL in the middle of a drain (a power cut, as far as Moat can tell), then started again
 * on the same state: the drain resumes from the spool and the file lands intact; the print command held before
 * the kill is gone with the process and never reaches the printer.
 */
let h: Harness | undefined;
let moat: MoatProcess | undefined;
let client: MqttClient | undefined;
after(async () => {
  await client?.endAsync();
  moat?.child.kill('SIGKILL');
  await h?.close();
});

test('SIGKILL during a drain: the restart resumes it and the file lands intact; the held print is not sent', {
  timeout: 180_000,
}, async () => {
  h = await startHarness({
    simulatorOnly: true,
    ftpBytesPerSecond: 150 * 1024,
    configure: spoolOn({ retryMinMs: 100, retryMaxMs: 1000 }),
  });
  const harness = h;
  const state = join(h.dir, 'state');
  const storage = printerStorage(h);
  const spoolDir = join(h.paths.spool, h.serial);
  const first = await startMoatProcess(state);
  moat = first;

  // Moat is connected to the printer once a report from it reaches a LAN client (a print needs it online).
  client = await connectMqtt(moatEndpoint({ ...harness, moat: first }, 'viewer'));
  let reached = false;
  client.on('message', () => {
    reached = true;
  });
  await client.subscribeAsync(`device/${h.serial}/report`);
  await waitFor(() => {
    harness.sim.publishReport?.('{"print":{"command":"push_status","msg":1}}');
    return reached;
  });

  const source = join(h.dir, 'crash.3mf');
  writeRandomFile(source, 1024 * 1024);
  const target = moatFtpTarget({ ...harness, moat: first }, 'operator');
  const up = await run('curl', curlArgs(target, 'crash.3mf', ['-T', source]));
  assert.equal(up.code, 0, up.stderr);
  const publish = (to: MoatProcess, payload: string) =>
    run('mosquitto_pub', [
      ...mosquittoArgs(moatEndpoint({ ...harness, moat: to }, 'operator')),
      '-t',
      `device/${harness.serial}/request`,
      '-m',
      payload,
    ]);
  assert.equal((await publish(first, projectFile('crash.3mf', '21'))).code, 0);
  await waitFor(
    () => existsSync(h?.paths.auditLog ?? '') && readFileSync(harness.paths.auditLog, 'utf8').includes('"held"'),
    {
      what: 'the print to be held',
    },
  );
  // Part of the file is on the printer under its temporary name: the drain is under way.
  await waitFor(
    () => readdirSync(storage).some((name) => name.startsWith('.moat-') && statSync(join(storage, name)).size > 0),
    { what: 'the drain to start' },
  );
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  await client.endAsync();
  client = undefined;
  assert.equal(existsSync(join(storage, 'crash.3mf')), false, 'the kill came before the file landed');
  assert.equal(readdirSync(spoolDir).length, 2, 'the file and its metadata wait in the spool');

  const restarted = await startMoatProcess(state);
  moat = restarted;
  await waitFor(() => existsSync(join(storage, 'crash.3mf')), { timeoutMs: 60_000, what: 'the resumed drain' });
  assert.equal(await sha256File(join(storage, 'crash.3mf')), await sha256File(source));
  await waitFor(() => readdirSync(spoolDir).length === 0, { what: 'the spool to empty' });
  assert.deepEqual(storedFiles(storage), ['crash.3mf'], 'the interrupted temporary file was overwritten, not left');
  // Anything the restarted Moat could send for the drain has gone before a command sent after it.
  assert.equal((await publish(restarted, '{"info":{"sequence_id":"22","command":"get_version"}}')).code, 0);
  await waitFor(() => harness.sim.stats.commands.some((c) => c.payload.includes('"22"')), { what: 'get_version' });
  assert.deepEqual(
    harness.sim.stats.commands.filter((c) => c.payload.includes('project_file')),
    [],
    'the held print was never sent',
  );
});
