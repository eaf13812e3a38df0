import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Client, PublishPacket } from 'aedes';
import { authorizePublishHook } from './authorize-publish.js';
import type { PublishedCommand } from './command-actions.js';
import { LanClients } from './lan-clients.js';
import type { PrinterLink } from './printer-link.js';
import { TokenBucket } from './rate-limit.js';

const serial = '01S00A000000000';

function setUp(online = true) {
  const clients = new LanClients();
  const link = { serial, online, cache: { complete: true } } as unknown as PrinterLink;
  const steps: string[] = [];
  const acted: PublishedCommand[] = [];
  const hook = authorizePublishHook({
    clients,
    links: new Map([[serial, link]]),
    rules: () => ({ unknownCommandRole: 'admin' }),
    gate: { awaiting: () => undefined },
    act: (command) => {
      steps.push('act');
      acted.push(command);
    },
  });
  const client = { id: 'c1', conn: new EventEmitter() } as unknown as Client;
  clients.accept(client.conn, '192.0.2.7');
  const publish = (topic: string, payload: string, qos: 0 | 1 = 0) => {
    const packet = { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: true, dup: false };
    let error: Error | null | undefined;
    hook(client, packet as PublishPacket, (e) => {
      steps.push('done');
      error = e;
    });
    return { error, packet };
  };
  return { clients, client, steps, acted, publish };
}

test('a command is decided in the hook and acted on only after aedes has its answer', () => {
  const { clients, client, steps, acted, publish } = setUp();
  clients.logIn(client, { label: 'ops', role: 'operator', publishes: new TokenBucket(1, 5) });
  const payload = '{"print":{"command":"pause","sequence_id":"3"}}';
  const { error, packet } = publish(`device/${serial}/request`, payload, 1);
  assert.equal(error, null);
  assert.deepEqual(steps, ['done', 'act']);
  assert.equal(packet.retain, false, 'a command is never retained');
  const [command] = acted;
  assert.equal(command?.decision.action, 'forward');
  assert.deepEqual(command?.payload, Buffer.from(payload));
  assert.deepEqual(
    [command?.name, command?.qos, command?.address, command?.session.label],
    ['print.pause', 1, '192.0.2.7', 'ops'],
  );
});

test('each publish takes one token of the client’s rate: past the burst the decision is the rate limit', () => {
  const { clients, client, acted, publish } = setUp();
  clients.logIn(client, { label: 'ops', role: 'operator', publishes: new TokenBucket(1, 2, () => 0) });
  for (let i = 0; i < 3; i++) publish(`device/${serial}/request`, '{"print":{"command":"pause"}}');
  assert.deepEqual(
    acted.map((c) => c.decision),
    [
      { action: 'forward', command: { ok: true, name: 'print.pause', kind: 'print', command: 'pause' } },
      { action: 'forward', command: { ok: true, name: 'print.pause', kind: 'print', command: 'pause' } },
      { action: 'refuse', reason: 'publish rate limit' },
    ],
  );
});

test('the printer’s state goes into the decision: offline refuses', () => {
  const { clients, client, acted, publish } = setUp(false);
  clients.logIn(client, { label: 'ops', role: 'admin', publishes: new TokenBucket(1, 5) });
  publish(`device/${serial}/request`, '{"print":{"command":"gcode_line"}}');
  assert.deepEqual(acted[0]?.decision, { action: 'refuse', reason: 'printer offline' });
});

test('anything but a configured printer’s request topic, or from a client not logged in, is an error to aedes', () => {
  const { clients, client, steps, acted, publish } = setUp();
  assert.match(String(publish(`device/${serial}/request`, '{}').error), /not allowed/, 'not logged in');
  clients.logIn(client, { label: 'ops', role: 'admin', publishes: new TokenBucket(1, 5) });
  for (const topic of [`device/${serial}/report`, `moat/${serial}/availability`, 'device/OTHER/request', 'x']) {
    assert.match(String(publish(topic, '{}').error), new RegExp(`publishing to ${topic} is not allowed`));
  }
  assert.equal(acted.length, 0);
  assert.deepEqual(new Set(steps), new Set(['done']));
});
