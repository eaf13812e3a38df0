import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MoatEvents, type TransferEvent } from '../events.js';
import { TransferTracker } from './transfers.js';

const fields = { serial: 'S1', direction: 'upload', name: '/a.3mf', label: 'slicer', address: '192.0.2.7' } as const;

describe('TransferTracker', () => {
  it('reports start, throttled progress and the end, and lists active before finished', () => {
    const events = new MoatEvents();
    const seen: TransferEvent[] = [];
    events.on('transfer', (event) => seen.push(event));
    const tracker = new TransferTracker(events, 20, 60_000);
    const first = tracker.start(fields);
    first.add(10);
    first.add(5);
    assert.deepEqual(
      seen.map((e) => [e.state, e.bytes]),
      [['active', 0]],
      'progress within the interval is not reported again',
    );
    const second = tracker.start({ ...fields, name: '/b.3mf' });
    first.done();
    first.failed('too late');
    assert.deepEqual(
      seen.map((e) => [e.name, e.state, e.bytes]),
      [
        ['/a.3mf', 'active', 0],
        ['/b.3mf', 'active', 0],
        ['/a.3mf', 'done', 15],
      ],
      'a transfer ends once',
    );
    assert.deepEqual(
      tracker.list().map((e) => [e.name, e.state]),
      [
        ['/b.3mf', 'active'],
        ['/a.3mf', 'done'],
      ],
    );
    second.failed('printer gone');
    assert.equal(tracker.list()[1]?.error, 'printer gone');
  });

  it('keeps only the most recent finished transfers', () => {
    const tracker = new TransferTracker(new MoatEvents(), 3);
    for (let i = 0; i < 5; i++) tracker.start({ ...fields, name: `/${i}.3mf` }).done();
    assert.deepEqual(
      tracker.list().map((e) => e.name),
      ['/2.3mf', '/3.3mf', '/4.3mf'],
    );
  });
});
