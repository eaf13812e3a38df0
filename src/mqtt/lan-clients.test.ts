import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Client } from 'aedes';
import { LanClients } from './lan-clients.js';
import { TokenBucket } from './rate-limit.js';

const client = (id: string) => ({ id, conn: new EventEmitter() }) as unknown as Client;
const session = (label: string) => ({ label, role: 'viewer' as const, publishes: new TokenBucket(1, 1) });

test('a connection’s record holds its address from the accept, its session from login, until it closes', () => {
  const clients = new LanClients();
  const a = client('a');
  const stranger = client('s');
  clients.accept(a.conn, '192.0.2.1');
  assert.equal(clients.addressOf(a), '192.0.2.1');
  assert.equal(clients.addressOf(stranger), 'unknown');
  assert.equal(clients.sessionOf(a), undefined);
  clients.logIn(a, session('guest'));
  assert.equal(clients.sessionOf(a)?.label, 'guest');
  assert.equal(clients.authenticated, 1);
  a.conn.emit('close');
  assert.equal(clients.authenticated, 0, 'a closed connection no longer counts towards the limit');
});

test('only logged-in clients are listed, oldest first, and each leaves the list with a disconnected event', () => {
  const clients = new LanClients();
  const [a, b, anonymous] = [client('a'), client('b'), client('anonymous')];
  for (const [c, address] of [
    [a, '192.0.2.1'],
    [b, '192.0.2.2'],
    [anonymous, '192.0.2.3'],
  ] as const) {
    clients.accept(c.conn, address);
  }
  clients.logIn(a, session('first'));
  clients.logIn(b, session('second'));
  assert.equal(clients.show(anonymous), undefined);
  const shownB = clients.show(b);
  clients.show(a);
  assert.deepEqual(
    clients.list().map((e) => [e.clientId, e.label, e.address, e.kind]),
    [
      ['b', 'second', '192.0.2.2', 'connected'],
      ['a', 'first', '192.0.2.1', 'connected'],
    ],
  );
  const gone = clients.hide(b);
  assert.deepEqual({ ...gone, at: undefined }, { ...shownB, kind: 'disconnected', at: undefined });
  assert.deepEqual(
    clients.list().map((e) => e.clientId),
    ['a'],
  );
  assert.equal(clients.hide(b), undefined, 'a client leaves once');
  assert.equal(clients.hide(anonymous), undefined);
});

test('reports go to every client aedes registered until it lets the client go, a takeover’s old client included', () => {
  const clients = new LanClients();
  const [a, b, taken] = [client('a'), client('b'), client('a')];
  clients.show(a);
  clients.show(b);
  assert.deepEqual([...clients.connected], [a, b]);
  // aedes closes the old client of a reused id (clientDisconnect) before it registers the new one.
  clients.hide(a);
  clients.show(taken);
  assert.deepEqual([...clients.connected], [b, taken]);
  clients.hide(b);
  clients.hide(b);
  assert.deepEqual([...clients.connected], [taken]);
});
