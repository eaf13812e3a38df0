import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from 'aedes';
import type { AuditEvent } from '../events.js';
import { silentLogger } from '../log.js';
import { actOnCommand, type PublishedCommand } from './command-actions.js';
import type { CommandDecision } from './command-decision.js';
import { CommandResults } from './command-results.js';
import type { LanReports } from './lan-reports.js';
import type { HeldCommand } from './print-gate.js';
import type { PrinterLink } from './printer-link.js';
import { TokenBucket } from './rate-limit.js';

const pause = { ok: true as const, name: 'print.pause', kind: 'print', command: 'pause' };

/** A printer link whose publishes end as `outcome` says, and a report channel that records what it was asked. */
function setUp(outcome: string | undefined, pushallSent = true) {
  const audited: AuditEvent[] = [];
  const published: { payload: Buffer; qos: number }[] = [];
  const toClient: string[] = [];
  const link = {
    serial: 'S1',
    upstream: {
      publish(payload: Buffer, qos: number, done: (failure: string | undefined) => void) {
        published.push({ payload, qos });
        done(outcome);
      },
    },
    requestPushall: () => pushallSent,
  } as unknown as PrinterLink;
  const fannedOut: { serial: string; report: { print: Record<string, string> } }[] = [];
  const held: HeldCommand[] = [];
  const reports = {
    fanOut: (_subscribers: Iterable<Client>, serial: string, payload: Buffer) =>
      fannedOut.push({ serial, report: JSON.parse(payload.toString()) }),
    sendIfSubscribed: (_client: Client, serial: string, payload: Buffer) => toClient.push(`${serial} ${payload}`),
    sendFullState: (_client: Client, _link: PrinterLink, sequenceId?: string) => toClient.push(`full ${sequenceId}`),
  } as unknown as LanReports;
  const audit = (e: AuditEvent) => audited.push(e);
  const gate = { hold: (_serial: string, _payload: Buffer, command: HeldCommand) => held.push(command) };
  const options = {
    audit,
    results: new CommandResults(audit),
    reports,
    log: silentLogger(),
    gate,
    subscribers: () => [],
  };
  const act = (decision: CommandDecision, name = 'print.pause') =>
    actOnCommand(options, {
      client: {} as Client,
      session: { label: 'ops', role: 'operator', publishes: new TokenBucket(1, 1) },
      address: '192.0.2.9',
      link,
      payload: Buffer.from('{"print":{"command":"pause"}}'),
      qos: 1,
      name,
      decision,
    } satisfies PublishedCommand);
  return { audited, published, toClient, fannedOut, held, act };
}

test('a forwarded command is published as it came; its publish ending well makes it allowed', () => {
  const { audited, published, act } = setUp(undefined);
  act({ action: 'forward', command: pause });
  assert.deepEqual(published, [{ payload: Buffer.from('{"print":{"command":"pause"}}'), qos: 1 }]);
  assert.deepEqual(
    audited.map((e) => [e.command, e.outcome, e.label, e.address, e.reason]),
    [['print.pause', 'allowed', 'ops', '192.0.2.9', undefined]],
  );
});

test('a forwarded command whose publish failed is audited dropped with the failure', () => {
  const { audited, act } = setUp('printer connection closed before the printer acknowledged it');
  act({ action: 'forward', command: pause });
  assert.deepEqual(
    audited.map((e) => [e.outcome, e.reason]),
    [['dropped', 'printer connection closed before the printer acknowledged it']],
  );
});

test('a refusal is audited with its reason and nothing is published or sent', () => {
  const { audited, published, toClient, act } = setUp(undefined);
  act({ action: 'refuse', reason: 'printer offline' });
  assert.deepEqual(
    audited.map((e) => [e.outcome, e.reason]),
    [['refused', 'printer offline']],
  );
  assert.equal(published.length + toClient.length, 0);
});

test('Moat’s own answer is audited refused and goes to the asking client, never to the printer', () => {
  const { audited, published, toClient, act } = setUp(undefined);
  const reply = { system: { command: 'get_access_code', result: 'fail' } };
  act({ action: 'answer', reason: 'never leaves Moat', reply }, 'system.get_access_code');
  assert.deepEqual(toClient, [`S1 ${JSON.stringify(reply)}`]);
  assert.deepEqual(
    audited.map((e) => [e.command, e.outcome, e.reason]),
    [['system.get_access_code', 'refused', 'never leaves Moat']],
  );
  assert.equal(published.length, 0);
});

test('pushall: the cached state to the asker; "answered from cache" when the printer was not asked again', () => {
  const pushall = { ok: true as const, name: 'pushing.pushall', kind: 'pushing', command: 'pushall', sequenceId: '4' };
  const asked = setUp(undefined, true);
  asked.act({ action: 'answer-from-cache', command: pushall, fullState: true }, 'pushing.pushall');
  assert.deepEqual(asked.toClient, ['full 4']);
  assert.deepEqual(
    asked.audited.map((e) => [e.outcome, e.result]),
    [['allowed', undefined]],
  );
  const cached = setUp(undefined, false);
  cached.act({ action: 'answer-from-cache', command: pushall, fullState: false }, 'pushing.pushall');
  assert.deepEqual(cached.toClient, [], 'no full state yet: nothing to send');
  assert.deepEqual(
    cached.audited.map((e) => [e.outcome, e.result]),
    [['allowed', 'answered from cache']],
  );
  assert.equal(asked.published.length + cached.published.length, 0, 'pushall goes through the link’s budget');
});

const projectFile = { ok: true as const, name: 'print.project_file', kind: 'print', command: 'project_file' };

test('a held print is audited held; released, it is published byte for byte and audited allowed', () => {
  const { audited, published, held, act } = setUp(undefined);
  act({ action: 'hold', command: projectFile, awaiting: '/a.3mf' }, 'print.project_file');
  assert.equal(published.length, 0, 'nothing reaches the printer while held');
  assert.deepEqual(
    audited.map((e) => [e.outcome, e.reason]),
    [['held', 'waiting for /a.3mf to reach the printer']],
  );
  held[0]?.forward();
  assert.deepEqual(published, [{ payload: Buffer.from('{"print":{"command":"pause"}}'), qos: 1 }]);
  assert.deepEqual(
    audited.map((e) => e.outcome),
    ['held', 'allowed'],
  );
});

test('a dropped held print is audited dropped and reported failed on the printer report topic, never published', () => {
  const { audited, published, fannedOut, held, act } = setUp(undefined);
  act({ action: 'hold', command: projectFile, awaiting: '/a.3mf' }, 'print.project_file');
  held[0]?.drop('held 600 s');
  assert.equal(published.length, 0);
  assert.deepEqual(
    audited.map((e) => [e.outcome, e.reason]),
    [
      ['held', 'waiting for /a.3mf to reach the printer'],
      ['dropped', 'held 600 s'],
    ],
  );
  assert.equal(fannedOut.length, 1);
  const { serial, report } = fannedOut[0] as (typeof fannedOut)[number];
  assert.equal(serial, 'S1');
  assert.deepEqual(
    [report.print.command, report.print.sequence_id, report.print.result],
    ['project_file', '0', 'fail'],
  );
  assert.match(report.print.reason ?? '', /held 600 s/);
});
