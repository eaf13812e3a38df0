import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listLine } from './data-commands.js';
import { parseListDate } from './list-date.js';

describe('parseListDate', () => {
  const now = new Date('2026-11-30T08:00:00Z');

  it('reads a time as this year when that is not ahead of now', () => {
    assert.equal(parseListDate('Nov 30 07:59', now)?.toISOString(), '2026-11-30T07:59:00.000Z');
    assert.equal(parseListDate('Jun  3 12:05', now)?.toISOString(), '2026-06-03T12:05:00.000Z');
  });

  it('reads a time that would be ahead of now as last year', () => {
    assert.equal(parseListDate('Dec 24 10:00', now)?.toISOString(), '2025-12-24T10:00:00.000Z');
  });

  it('tolerates a printer clock running a little ahead', () => {
    assert.equal(parseListDate('Nov 30 09:30', now)?.toISOString(), '2026-11-30T09:30:00.000Z');
  });

  it('reads a year as midnight of that day', () => {
    assert.equal(parseListDate('Nov 30  2025', now)?.toISOString(), '2025-11-30T00:00:00.000Z');
    assert.equal(parseListDate('feb 1 2024', now)?.toISOString(), '2024-02-01T00:00:00.000Z');
  });

  it('gives nothing for what is not a date', () => {
    for (const raw of ['', 'Foo 30 07:59', 'Nov 32 07:59', 'Nov 30 25:00', 'Nov 30 07:60', '2025-11-30', 'Nov 30'])
      assert.equal(parseListDate(raw, now), undefined, raw);
  });

  it('reads back what Moat writes in a listing', () => {
    for (const iso of ['2026-11-02T07:59:00Z', '2024-03-05T00:00:00Z']) {
      const entry = { name: 'a', size: 1, mtime: new Date(iso), mode: 0o644, isDirectory: () => false };
      const raw = listLine(entry, now).split(/\s+/).slice(5, 8).join(' ');
      assert.equal(parseListDate(raw, now)?.toISOString(), new Date(iso).toISOString(), raw);
    }
  });
});
