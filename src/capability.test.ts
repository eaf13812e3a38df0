import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Capability, restartable, startInOrder } from './capability.js';
import { silentLogger } from './log.js';

/** Capabilities that record what happens to them, in order, in `journal`. */
function recorder(journal: string[]) {
  return (
    name: string,
    options: { failStart?: boolean; failClose?: boolean } = {},
  ): Capability<{ close(): Promise<void> }, unknown> => ({
    name,
    async start() {
      if (options.failStart) {
        journal.push(`${name} failed`);
        throw new Error(`${name} cannot start`);
      }
      journal.push(`${name} started`);
      return {
        async close() {
          journal.push(`${name} closed`);
          if (options.failClose) throw new Error(`${name} cannot close`);
        },
      };
    },
  });
}

const context = { logger: silentLogger() };

test('when the third capability fails to start, the first two are closed in reverse order and the error is rethrown', async () => {
  const journal: string[] = [];
  const capability = recorder(journal);
  await assert.rejects(
    startInOrder(context, [
      capability('first'),
      capability('second'),
      capability('third', { failStart: true }),
      capability('fourth'),
    ]),
    /third cannot start/,
  );
  assert.deepEqual(journal, ['first started', 'second started', 'third failed', 'second closed', 'first closed']);
});

test('close stops every capability in reverse order, carrying on past one that fails to close', async () => {
  const journal: string[] = [];
  const capability = recorder(journal);
  const started = await startInOrder(context, [
    capability('first'),
    capability('second', { failClose: true }),
    capability('third'),
  ]);
  assert.equal(started.running.length, 3);
  await started.close();
  assert.deepEqual(journal, [
    'first started',
    'second started',
    'third started',
    'third closed',
    'second closed',
    'first closed',
  ]);
  // A second close has nothing left to stop.
  await started.close();
  assert.equal(journal.length, 6);
});

test('a restartable capability is closed and started again in place; a failed restart leaves it stopped', async () => {
  const journal: string[] = [];
  let attempts = 0;
  const flaky: Capability<{ close(): Promise<void> }, unknown> = {
    name: 'flaky',
    async start() {
      attempts++;
      if (attempts === 3) throw new Error('third start fails');
      const attempt = attempts;
      journal.push(`start ${attempt}`);
      return { close: async () => void journal.push(`close ${attempt}`) };
    },
  };
  const running = await restartable(flaky).start(undefined);
  const first = running.current;
  await running.restart();
  assert.notEqual(running.current, first);
  await assert.rejects(running.restart(), /third start fails/);
  assert.equal(running.current, undefined);
  await running.restart();
  assert.ok(running.current);
  await running.close();
  assert.deepEqual(journal, ['start 1', 'close 1', 'start 2', 'close 2', 'start 4', 'close 4']);
});
