import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { loadServerIdentity } from '../../src/certs/identity.js';
import { createPrinterPki } from '../../src/certs/printer-pki.js';
import { defaultConfig } from '../../src/config/schema.js';
import { statePaths } from '../../src/config/state-dir.js';
import { ensureStateDir } from '../../src/config/store.js';
import { lanServerTlsOptions } from '../../src/tls-profiles.js';
import { cliPath } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-health-'));
const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listen(options: { cert: string; key: string }): Promise<number> {
  const server = createServer(lanServerTlsOptions({ certPem: options.cert, keyPem: options.key }), (socket) =>
    socket.end(),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Runs `moat health` asynchronously (the TLS servers live in this process). */
function health(state: string, wait: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, 'health', '--state-dir', state, '--wait', wait]);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

function stateWithPort(name: string, port: number) {
  const paths = statePaths(join(dir, name));
  ensureStateDir(paths);
  writeFileSync(paths.config, JSON.stringify({ ports: { https: port } }));
  return paths;
}

test("moat health passes once the HTTPS port answers with a certificate from Moat's CA", async () => {
  const paths = statePaths(join(dir, 'good'));
  const identity = await loadServerIdentity(paths, defaultConfig());
  const port = await listen({ cert: identity.certPem, key: identity.keyPem });
  stateWithPort('good', port);
  const result = await health(paths.root, '5');
  assert.equal(result.status, 0, result.output);
  assert.match(result.output, /moat is up/);
});

test('moat health fails when another certificate answers, or nothing listens', async () => {
  const paths = statePaths(join(dir, 'foreign'));
  await loadServerIdentity(paths, defaultConfig());
  const foreign = (await createPrinterPki('MOCK-SERIAL')).leaf;
  const port = await listen({ cert: foreign.certPem, key: foreign.keyPem });
  stateWithPort('foreign', port);
  const wrongCert = await health(paths.root, '0');
  assert.equal(wrongCert.status, 1);
  assert.match(wrongCert.output, /not up after 0 s/);

  const closed = servers.pop();
  await new Promise((resolve) => closed?.close(resolve));
  const nothing = await health(paths.root, '1');
  assert.equal(nothing.status, 1);
  assert.match(nothing.output, /ECONNREFUSED/);
});
