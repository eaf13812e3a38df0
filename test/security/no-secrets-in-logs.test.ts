import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Client as FtpClient } from 'basic-ftp';
import mqtt from 'mqtt';
import { startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';

/** Connects with a code and reports whether the broker accepted it. */
async function mqttLogin(port: number, ca: string, password: string): Promise<boolean> {
  const options: mqtt.IClientOptions = {
    host: '127.0.0.1',
    port,
    protocol: 'mqtts' as const,
    ca,
    rejectUnauthorized: true,
    username: 'bblp',
    password,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  };
  const client = mqtt.connect(options);
  try {
    return await new Promise<boolean>((resolve) => {
      client.once('connect', () => resolve(true));
      client.once('error', () => resolve(false));
      client.once('close', () => resolve(false));
    });
  } finally {
    client.end(true);
  }
}

async function ftpLogin(port: number, ca: string, password: string): Promise<boolean> {
  const client = new FtpClient(10_000);
  try {
    await client.access({
      host: '127.0.0.1',
      port,
      user: 'bblp',
      password,
      secure: 'implicit',
      secureOptions: { ca },
    });
    await client.list();
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

test('no access code, password or key reaches a log line, through right and wrong logins', async () => {
  const captured = capturingLogger('trace');
  const harness = await startHarness({ logger: captured.logger });
  try {
    const moat = harness.moat;
    assert.ok(moat);
    const ca = readFileSync(harness.moatCaFile, 'utf8');
    const wrongCode = 'wrong123';
    assert.equal(await mqttLogin(moat.mqtt.port, ca, harness.codes.viewer), true);
    assert.equal(await mqttLogin(moat.mqtt.port, ca, wrongCode), false);
    assert.equal(await ftpLogin(moat.ftp.port, ca, harness.codes.operator), true);
    assert.equal(await ftpLogin(moat.ftp.port, ca, wrongCode), false);
    const log = captured.text();
    assert.ok(log.length > 0, 'the service logged something');
    const secrets = {
      ...harness.codes,
      wrongCode,
      printerAccessCode: harness.printerAccessCode,
      serverKey: moat.context.identity.keyPem.split('\n')[1] as string,
      caKey: readFileSync(harness.paths.caKey, 'utf8').split('\n')[1] as string,
    };
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(!log.includes(secret), `${name} appeared in the log`);
    }
  } finally {
    await harness.close();
  }
});
