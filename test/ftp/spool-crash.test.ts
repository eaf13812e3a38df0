import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { serviceNodeFlags } from '../../src/appliance/node-flags.js';
import { curlArgs, sha256File, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
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
let moat: ChildProcess | undefined;
let client: MqttClient | undefined;
after(async () => {
  await client?.endAsync();
  moat?.kill('SIGKILL');
  await h?.close();
});

async function startMoatProcess(state: string): Promise<{ child: ChildProcess; mqtt: number; ftp: number }> {
  const child = spawn(process.execPath, [...serviceNodeFlags, 'dist/test/helpers/moat-child.js', state]);
  const out: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  const ports = await waitFor(
    () => {
      const line = out
        .join('')
        .split('\n')
        .find((l) => l.startsWith('{"mqtt"'));
      return line ? (JSON.parse(line) as { mqtt: number; ftp: number }) : undefined;
    },
    { what: 'Moat to start', timeoutMs: 20_000 },
  );
  return { child, ...ports };
}

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
  let started = await startMoatProcess(state);
  moat = started.child;
  const as = (port: number) => ({ moat: { mqtt: { port } }, moatCaFile: harness.moatCaFile, codes: harness.codes });

  // Moat is connected to the printer once a report from it reaches a LAN client (a print needs it online).
  client = await connectMqtt(moatEndpoint(as(started.mqtt), 'viewer'));
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
  const target = { port: started.ftp, user: 'bblp', password: h.codes.operator, caFile: h.moatCaFile, tls: true };
  const up = await run('curl', curlArgs(target, 'crash.3mf', ['-T', source]));
  assert.equal(up.code, 0, up.stderr);
  const publish = (port: number, payload: string) =>
    run('mosquitto_pub', [
      ...mosquittoArgs(moatEndpoint(as(port), 'operator')),
      '-t',
      `device/${harness.serial}/request`,
      '-m',
      payload,
    ]);
  assert.equal((await publish(started.mqtt, projectFile('crash.3mf', '21'))).code, 0);
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
  moat.kill('SIGKILL');
  await new Promise((resolve) => moat?.once('exit', resolve));
  await client.endAsync();
  client = undefined;
  assert.equal(existsSync(join(storage, 'crash.3mf')), false, 'the kill came before the file landed');
  assert.equal(readdirSync(spoolDir).length, 2, 'the file and its metadata wait in the spool');

  started = await startMoatProcess(state);
  moat = started.child;
  await waitFor(() => existsSync(join(storage, 'crash.3mf')), { timeoutMs: 60_000, what: 'the resumed drain' });
  assert.equal(await sha256File(join(storage, 'crash.3mf')), await sha256File(source));
  await waitFor(() => readdirSync(spoolDir).length === 0, { what: 'the spool to empty' });
  assert.deepEqual(storedFiles(storage), ['crash.3mf'], 'the interrupted temporary file was overwritten, not left');
  // Anything the restarted Moat could send for the drain has gone before a command sent after it.
  assert.equal((await publish(started.mqtt, '{"info":{"sequence_id":"22","command":"get_version"}}')).code, 0);
  await waitFor(() => harness.sim.stats.commands.some((c) => c.payload.includes('"22"')), { what: 'get_version' });
  assert.deepEqual(
    harness.sim.stats.commands.filter((c) => c.payload.includes('project_file')),
    [],
    'the held print was never sent',
  );
});
