import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { DemoInfo } from '../../src/demo.js';
import { cliPath, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-demo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('moat demo writes demo.json, prints the summary, and stops cleanly on SIGINT', async (t) => {
  const started = Date.now();
  const child = spawn(process.execPath, [cliPath, 'demo', '--dir', dir, '--ftp-rate', '4000000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A failed assertion must not leave a demo holding Moat's ports for the tests and checks that follow.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('Ctrl-C stops the demo')) resolve();
    });
    exited.then((code) => reject(new Error(`demo exited (${code}) before its summary:\n${stdout}\n${stderr}`)));
  });
  const elapsed = Date.now() - started;
  const info = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoInfo;
  assert.ok(elapsed < 10_000, `summary after ${elapsed} ms`);
  for (const role of ['viewer', 'operator', 'admin'] as const) assert.match(info.accessCodes[role], /^[a-z0-9]{8}$/);
  assert.ok(existsSync(info.moat.caFile));
  assert.ok(stdout.includes(info.commands.mosquittoSub));
  assert.ok(stdout.includes(info.moat.caFingerprint256));
  assert.equal(info.simulator.ftpRate, 4_000_000);
  assert.match(stdout, /Printer FTP {2}capped at 4000000 bytes\/s/);
  assert.ok(await portOpen(info.moat.mqtt.host, info.moat.mqtt.port), 'MQTT port open while running');
  assert.ok(await portOpen(info.moat.ftps.host, info.moat.ftps.port), 'FTPS port open while running');
  await waitFor(
    async () => {
      const stats = (await (await fetch(info.simulator.statsUrl)).json()) as { mqtt: { connections: number } };
      return stats.mqtt.connections === 1;
    },
    { what: 'Moat to hold one connection to the printer' },
  );

  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  assert.equal(await portOpen(info.moat.mqtt.host, info.moat.mqtt.port), false, 'MQTT port closed after stop');
  assert.equal(await portOpen(info.simulator.host, info.simulator.mqttPort), false, 'simulator stopped too');
});

test('moat demo --ftp-rate refuses what is not a positive number of bytes per second', () => {
  for (const rate of ['0', 'fast', '1.5']) {
    const result = runCli(['demo', '--dir', dir, '--ftp-rate', rate]);
    assert.notEqual(result.status, 0, rate);
    assert.match(result.stderr, /--ftp-rate must be a positive number of bytes per second/, rate);
  }
});
