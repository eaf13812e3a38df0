import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuditEvent } from '../events.js';
import { AuditLog } from './audit-log.js';

const event = (i: number, outcome: AuditEvent['outcome'] = 'allowed'): AuditEvent => ({
  at: new Date(0).toISOString(),
  serial: i % 2 ? 'A' : 'B',
  label: `client ${i % 3}`,
  role: 'operator',
  address: '127.0.0.1',
  command: 'print.pause',
  outcome,
});

test('entries are appended, filtered and limited, newest last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  try {
    const log = new AuditLog(join(dir, 'audit.log'), () => 1024 * 1024);
    await Promise.all(Array.from({ length: 30 }, (_, i) => log.append(event(i, i % 5 ? 'allowed' : 'refused'))));
    assert.equal((await log.query()).length, 30);
    assert.equal((await log.query({ outcome: 'refused' })).length, 6);
    assert.equal((await log.query({ serial: 'A', label: 'client 1' })).length, 5);
    const last = await log.query({ limit: 2 });
    assert.deepEqual(last, [event(28), event(29, 'allowed')]);
    assert.equal(statSync(join(dir, 'audit.log')).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the files never pass the size cap and keep the newest entries; torn lines are skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  try {
    const file = join(dir, 'audit.log');
    appendFileSync(file, '{"torn\n');
    const log = new AuditLog(file, () => 8192);
    for (let i = 0; i < 500; i++) await log.append(event(i));
    const size = (path: string) => statSync(path).size;
    assert.ok(size(file) + size(`${file}.1`) <= 8192);
    const kept = await log.query();
    assert.ok(kept.length > 10 && kept.length < 500);
    assert.deepEqual(kept.at(-1), event(499));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
