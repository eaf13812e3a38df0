import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { waitFor } from '../../test/helpers/wait.js';
import { silentLogger } from '../log.js';
import { handlerOnFirstRequest } from './on-first-request.js';

/** A loopback HTTP server whose handler counts the requests it has been given, before passing them on. */
async function serve(t: { after: (fn: () => Promise<void>) => void }, handler: RequestListener) {
  let arrived = 0;
  const server = createServer((req, res) => {
    arrived++;
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  const request = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  return { request, arrived: () => arrived };
}

const answerPath: RequestListener = (req, res) => res.end(`handled ${req.url}`);

test('requests that arrive while the handler loads wait for the one load and are all answered', async (t) => {
  let loads = 0;
  let finishLoading: (handler: RequestListener) => void = () => {};
  const handler = handlerOnFirstRequest(() => {
    loads++;
    return new Promise<RequestListener>((resolve) => {
      finishLoading = resolve;
    });
  }, silentLogger());
  const { request, arrived } = await serve(t, handler);

  const answers = Promise.all(['/a', '/b', '/c'].map((path) => request(path)));
  await waitFor(() => arrived() === 3, { what: 'three requests at the server' });
  assert.equal(loads, 1, 'one load for all the requests that arrived during it');
  finishLoading(answerPath);
  assert.deepEqual(await answers, [
    { status: 200, body: 'handled /a' },
    { status: 200, body: 'handled /b' },
    { status: 200, body: 'handled /c' },
  ]);
  assert.deepEqual(await request('/d'), { status: 200, body: 'handled /d' });
  assert.equal(loads, 1, 'later requests use the loaded handler');
});

test('a failed load answers 500 to the requests that waited for it, and the next request loads again', async (t) => {
  let loads = 0;
  const handler = handlerOnFirstRequest(async () => {
    loads++;
    if (loads === 1) throw new Error('module not found');
    return answerPath;
  }, silentLogger());
  const { request } = await serve(t, handler);

  const failed = await request('/first');
  assert.equal(failed.status, 500);
  assert.match(failed.body, /could not be loaded/);
  assert.deepEqual(await request('/second'), { status: 200, body: 'handled /second' });
  assert.equal(loads, 2);
});
