import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { AuditEvent } from '../../src/events.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { type MoatProcess, startMoatProcess } from '../helpers/moat-process.js';
import { connectMqtt, moatEndpoint } from '../helpers/mqtt-clients.js';
import { residentBytes } from '../helpers/proc-memory.js';
import { waitFor } from '../helpers/wait.js';

const cap = 1024 * 1024;
const reportBytes = 10 * 1024;
// The workload is 10 KB at 5 Hz for 60 s, 3 MB: on Linux all of it fits in the kernel's buffers of one
// loopback TCP connection (tcp_wmem autotunes Moat's send buffer up to 4 MB), so nothing would queue in Moat.
// Ten times the rate, 30 MB, leaves far more unsent than the kernel holds: without the cap it stays in Moat.
const reportsPerSecond = 50;
const seconds = 60;
const warmUpSeconds = 15;

let h: Harness | undefined;
let moat: MoatProcess | undefined;
let stalled: ChildProcess | undefined;
let reader: MqttClient | undefined;
after(async () => {
  stalled?.kill();
  await reader?.endAsync(true).catch(() => {});
  await moat?.stop();
  await h?.close();
});

/** A report of about reportBytes carrying its number, so the reading subscriber can count what it got. */
function report(n: number): string {
  const head = { print: { command: 'push_status', msg: 1, sequence_id: '0', moat_test_seq: n, pad: '' } };
  head.print.pad = 'x'.repeat(reportBytes - JSON.stringify(head).length);
  return JSON.stringify(head);
}

/**
 * A subscriber that stops reading (keepalive 0) while the printer sends 10 KB reports at 50 Hz for 60 s: Moat
 * drops it once its unsent reports pass the cap and audits why, its resident set grows by less than the cap plus
 * 8 MB, and a subscriber that reads gets every report. Issue 14; mosquitto's max_queued_bytes is the model.
 */
test('a subscriber that stops reading is cut at the report queue cap; the others get every report', async (t) => {
  h = await startHarness({ ftp: false, simulatorOnly: true });
  const harness = h;
  const topic = `device/${h.serial}/report`;
  // Moat runs in a process of its own, as the appliance runs it, so its resident set is Moat's alone (not the
  // simulator's or the clients').
  moat = await startMoatProcess(h.paths.root);
  const { pid } = moat.child;
  const port = moat.mqtt.port;
  const endpoint = moatEndpoint({ ...h, moat }, 'viewer');
  reader = await connectMqtt(endpoint);
  const seen: number[] = [];
  reader.on('message', (_topic, payload) => {
    const n = (JSON.parse(payload.toString('utf8')) as { print?: { moat_test_seq?: number } }).print?.moat_test_seq;
    if (n !== undefined) seen.push(n);
  });
  await reader.subscribeAsync(topic);
  // Moat is connected to the printer once a report reaches the reader.
  await waitFor(
    () => {
      harness.sim.publishReport?.(report(-1));
      return seen.includes(-1);
    },
    { what: 'Moat to relay reports' },
  );

  const rss = () => residentBytes(pid as number);
  let next = 0;
  /** Sends reports at the workload's rate for `count` reports; the highest resident set seen meanwhile. */
  const sendReports = async (count: number) => {
    let peak = 0;
    for (const end = next + count; next < end; next++) {
      harness.sim.publishReport?.(report(next));
      peak = Math.max(peak, rss());
      // Pacing the workload, not waiting for anything.
      await new Promise((resolve) => setTimeout(resolve, 1000 / reportsPerSecond));
    }
    return peak;
  };
  // The baseline: Moat's resident set under the same report traffic with only the reading subscriber, once V8's
  // heap has grown to what that traffic needs. What the stalled subscriber adds on top is what it costs.
  const baseline = await sendReports(reportsPerSecond * warmUpSeconds);

  stalled = spawn('/usr/bin/python3', [
    'test/clients/stalled_subscriber.py',
    String(port),
    h.moatCaFile,
    'bblp',
    h.codes.viewer,
    topic,
  ]);
  const stalledStdout: string[] = [];
  stalled.stdout?.on('data', (chunk: Buffer) => stalledStdout.push(chunk.toString()));
  await waitFor(() => stalledStdout.join('').includes('subscribed'), { what: 'the stalled subscriber to subscribe' });
  const peak = await sendReports(reportsPerSecond * seconds);
  const total = next;
  await waitFor(() => seen.includes(total - 1), {
    what: 'the reading subscriber to get the last report',
    timeoutMs: 10000,
  });

  assert.deepEqual(
    seen.filter((n) => n >= 0),
    Array.from({ length: total }, (_, n) => n),
    'every report, in order',
  );
  const audits = () =>
    readFileSync(h?.paths.auditLog as string, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent);
  const dropped = await waitFor(() => audits().find((a) => a.command === 'report' && a.outcome === 'refused'), {
    what: 'the audit entry of the dropped subscriber',
  });
  // Dropped at the default cap (1 MiB): not before, and not with more queued than it.
  const queued = Number(/(\d+) bytes of reports queued unread/.exec(dropped.reason ?? '')?.[1]);
  assert.ok(queued <= cap && queued > cap - 2 * reportBytes, `dropped with ${queued} bytes queued`);
  assert.equal(dropped.role, 'viewer');
  const grown = peak - baseline;
  t.diagnostic(`Moat's resident set: ${(baseline / 1048576).toFixed(1)} MB, then ${(peak / 1048576).toFixed(1)} MB`);
  assert.ok(grown < cap + 8 * 1024 * 1024, `Moat's resident set grew by ${(grown / 1048576).toFixed(1)} MB`);
});
