import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { SocketStream } from './socket-stream.js';

/** A socket stand-in whose writes complete only when told to, so bytes can be caught while queued. */
function slowSocket() {
  const written: string[] = [];
  const pending: (() => void)[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      pending.push(() => done());
    },
  });
  return {
    socket,
    written,
    completeAll: () => {
      for (const done of pending.splice(0)) done();
    },
  };
}

test('writeThrough keeps the order of bytes still queued in the stream, then goes straight to the socket', async () => {
  const { socket, written, completeAll } = slowSocket();
  const stream = new SocketStream(socket);
  stream.write('a');
  stream.write('b'); // queued in the stream: the socket has not finished 'a'
  stream.writeThrough(Buffer.from('c'));
  assert.deepEqual(written, ['a'], 'c waits behind b');
  assert.ok(stream.queuedBytes >= 2, `queued ${stream.queuedBytes}`);
  while (stream.writableLength > 0) {
    completeAll();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(written.join(''), 'abc', 'b and c (written together or not) in order after a');

  written.length = 0;
  stream.writeThrough(Buffer.from('d'));
  assert.equal(stream.writableLength, 0, 'nothing queued here: d went to the socket directly');
  assert.equal(stream.queuedBytes, 1, "d counts while it is in the socket's queue");
  assert.deepEqual(written, ['d']);
});

test('writeThrough waits for writesAfter like any write', async () => {
  const { socket, written } = slowSocket();
  let release = () => {};
  const stream = new SocketStream(socket, { writesAfter: new Promise<void>((resolve) => (release = resolve)) });
  stream.writeThrough(Buffer.from('x'));
  assert.deepEqual(written, []);
  release();
  await once(stream, 'writes-ready');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(written, ['x']);
});
