import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  dataPath,
  defaultSpoolMaxBytes,
  loadEntries,
  type SpoolEntry,
  spoolQuota,
  writeMetadata,
} from './spool-files.js';

test('loadEntries: complete entries oldest first; data without metadata and metadata without data removed', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'moat-spool-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'S1');
  mkdirSync(dir);
  const entry = (id: string): SpoolEntry => ({
    id,
    serial: 'S1',
    target: `/${id}.3mf`,
    size: 1,
    sha256: 'x',
    receivedAt: '2026-01-01T00:00:00.000Z',
    label: 'slicer',
  });
  for (const id of ['b', 'a']) {
    writeFileSync(dataPath(root, entry(id)), 'x');
    writeMetadata(root, entry(id));
  }
  writeFileSync(dataPath(root, entry('partial')), 'x');
  writeMetadata(root, entry('orphan'));
  writeFileSync(join(dir, 'c.data'), 'x');
  writeFileSync(join(dir, 'c.json'), '{not json');
  const dropped: string[] = [];
  const loaded = loadEntries(root, (file) => dropped.push(file));
  assert.deepEqual(
    loaded.map((e) => e.id),
    ['a', 'b'],
  );
  assert.deepEqual(dropped.sort(), [join(dir, 'c.data'), join(dir, 'partial.data')]);
  assert.deepEqual(readdirSync(dir).sort(), ['a.data', 'a.json', 'b.data', 'b.json']);
});

test('spoolQuota: the configured one, else 2 GiB or a quarter of the space the spool could use', () => {
  assert.equal(spoolQuota(tmpdir(), 1234, 0), 1234);
  const quota = spoolQuota(tmpdir(), undefined, 0);
  assert.ok(quota > 0 && quota <= defaultSpoolMaxBytes);
});
