import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { loadConfig } from '../config/store.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';
import { CliError } from './errors.js';

const usage = 'usage: moat health [--wait SECONDS] [--state-dir DIR]';

/** One TLS handshake with the HTTPS listener, verified against Moat's own CA. */
function probe(host: string, port: number, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      ca,
      minVersion: 'TLSv1.2',
      // The certificate names the appliance (moat.local, LAN addresses), not the loopback address we dial.
      checkServerIdentity: () => undefined,
    });
    socket.setTimeout(3000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}

/**
 * Exits 0 once Moat's HTTPS listener completes a verified TLS handshake; the web server starts after the
 * firewall and the bridges, so this means the service is really up (systemd's readiness check).
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { wait: { type: 'string' } }, usage);
  const waitSeconds = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > 3600)
    throw new CliError(`--wait takes 0 to 3600 seconds\n${usage}`);
  const paths = resolveStatePaths(values);
  const config = loadConfig(paths);
  if (config.ports.https === 0) throw new CliError('ports.https is 0 (ephemeral): nothing fixed to check');
  const host = config.lan.bindAddress === '0.0.0.0' ? '127.0.0.1' : config.lan.bindAddress;
  const deadline = Date.now() + waitSeconds * 1000;
  let lastError = 'not tried';
  for (;;) {
    try {
      await probe(host, config.ports.https, readFileSync(paths.caCert, 'utf8'));
      console.log(`moat is up: https://${host}:${config.ports.https}/ answered with Moat's certificate`);
      return 0;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.error(`moat health: not up after ${waitSeconds} s: ${lastError}`);
  return 1;
}
