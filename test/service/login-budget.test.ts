import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client as FtpClient } from 'basic-ftp';
import { scryptChannel } from '../../src/auth/access-codes.js';
import { startHarness } from '../helpers/harness.js';
import { connectMqtt, moatEndpoint } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One login budget per client address for MQTT, FTPS and the setup page, kept across restarts of the
 * bridges. Measured, not timed: every wrong password from the address lands in the one failure record,
 * scrypt checks for the address never overlap whichever protocol they come from (each waits its turn and its
 * delay in the one queue), and failures on the bridges lock the setup page.
 */
test('1,000 wrong passwords spread across MQTT, FTPS and the setup page are throttled as one budget', async (t) => {
  const h = await startHarness({
    configure: (config) => ({
      ...config,
      // Small delays keep the test quick; the connection caps (MQTT 2 × maxClients, FTPS per address) must not
      // cut the flood short before the logins.
      mqtt: { ...config.mqtt, loginDelayBaseMs: 1, loginDelayMaxMs: 20, maxClients: 1000 },
      ftp: { ...config.ftp, maxConnectionsPerAddress: 1000 },
      web: { ...config.web, loginAttempts: 1000, loginWindowSeconds: 3600 },
    }),
  });
  t.after(() => h.close());
  const moat = h.moat;
  assert.ok(moat);
  const ca = readFileSync(h.moatCaFile);

  const web = (path: string, body: unknown, session?: { cookie: string; csrf: string }, localAddress?: string) =>
    new Promise<{ status: number; cookie: string; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: moat.web.httpsPort,
          path,
          method: body === undefined ? 'GET' : 'POST',
          ca,
          checkServerIdentity: () => undefined,
          agent: false,
          ...(localAddress && { localAddress }),
          headers: {
            'content-type': 'application/json',
            ...(session && { cookie: session.cookie, 'x-csrf-token': session.csrf }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              cookie: (res.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '',
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const anonymous = async (localAddress?: string) => {
    const response = await web('/api/session', undefined, undefined, localAddress);
    return { cookie: response.cookie, csrf: (JSON.parse(response.body) as { csrfToken: string }).csrfToken };
  };
  const password = 'the right admin password';
  const claimCode = /claim code:\s*(\S+)/i.exec(readFileSync(join(h.dir, 'boot', 'moat-claim.txt'), 'utf8'))?.[1];
  assert.equal((await web('/api/claim', { code: claimCode, password }, await anonymous())).status, 200);

  const ftpLogin = async (pass: string) => {
    // Generous: a login may wait its turn behind up to 32 others, each a few scrypt checks long.
    const client = new FtpClient(120_000);
    try {
      await client.access({
        host: '127.0.0.1',
        port: moat.ftp.port,
        user: 'bblp',
        password: pass,
        secure: 'implicit',
        secureOptions: { ca, checkServerIdentity: () => undefined },
      });
      return 'let in';
    } catch (error) {
      return String((error as { code?: number }).code ?? (error as Error).message);
    } finally {
      client.close();
    }
  };
  const mqttLogin = (pass: string) =>
    connectMqtt({ ...moatEndpoint(h, 'viewer'), password: pass }, { connectTimeout: 120_000 }).then(
      async (client) => {
        await client.endAsync(true);
        return 'let in';
      },
      (error: Error) => error.message,
    );

  let scryptRuns = 0;
  let inFlight = 0;
  let peak = 0;
  const countScrypt = (message: unknown) => {
    if ((message as { phase: string }).phase === 'start') {
      scryptRuns++;
      peak = Math.max(peak, ++inFlight);
    } else inFlight--;
  };
  subscribe(scryptChannel.name, countScrypt);
  t.after(() => unsubscribe(scryptChannel.name, countScrypt));

  // The address has failed once; then the flood: a third each over MQTT, FTPS and the setup page, all at once.
  assert.match(await mqttLogin('wrong000'), /Not authorized/);
  const session = await anonymous();
  const outcomes = await Promise.all(
    Array.from({ length: 999 }, (_, i) => {
      const guess = `wrong${String(i + 1).padStart(3, '0')}x`;
      if (i % 3 === 0) return mqttLogin(guess);
      if (i % 3 === 1) return ftpLogin(guess);
      return web('/api/login', { password: guess }, session).then((r) => `HTTP ${r.status}`);
    }),
  );
  const counts = new Map<string, number>();
  for (const outcome of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  assert.equal(counts.get('let in'), undefined, `nothing got in: ${JSON.stringify([...counts])}`);
  assert.equal(counts.get('Connection refused: Not authorized'), 333, JSON.stringify([...counts]));
  assert.equal(counts.get('530'), 333, JSON.stringify([...counts]));
  assert.equal((counts.get('HTTP 401') ?? 0) + (counts.get('HTTP 429') ?? 0), 333, JSON.stringify([...counts]));

  // One record holds every one of the 1,000 failures, whichever door they came through …
  assert.equal(moat.context.logins.failures('127.0.0.1')?.failures, 1000);
  // … and one queue checked them: never two scrypt checks for the address at once, across the protocols.
  assert.ok(scryptRuns > 0);
  assert.equal(peak, 1, `${scryptRuns} scrypt runs, up to ${peak} at once`);

  // The bridges restart (a setting they read changed): the budget stays with the service.
  const bridge = moat.mqtt;
  moat.context.config.update((config) => ({ ...config, mqtt: { ...config.mqtt, publishesPerSecond: 19 } }));
  await waitFor(() => moat.mqtt !== bridge && moat.mqtt.port !== 0, { what: 'the restarted MQTT bridge' });
  assert.equal(moat.context.logins.failures('127.0.0.1')?.failures, 1000);
  assert.match(await mqttLogin('wrong1001'), /Not authorized/);
  assert.equal(moat.context.logins.failures('127.0.0.1')?.failures, 1001, 'the restarted bridge adds to it');

  // The bridges' failures lock the setup page for this address, even for the right password; not for another.
  const locked = await web('/api/login', { password }, await anonymous());
  assert.equal(locked.status, 429, locked.body);
  assert.equal((await web('/api/login', { password }, await anonymous('127.0.0.2'), '127.0.0.2')).status, 200);
});
