import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { printerSecretName, writeSecret } from '../../src/config/secrets.js';
import type { StatePaths } from '../../src/config/state-dir.js';
import { packageRoot } from '../../src/paths.js';
import { waitFor } from '../helpers/wait.js';

/** What the several-printers namespace tests share: commands in a namespace, and the simulated printers. */

export const cli = join(packageRoot, 'dist', 'src', 'cli.js');

export interface PlannedPrinter {
  serial: string;
  model: string;
  /** Its address on the printer segment. */
  address: string;
}

export function sh(ns: string, command: string, args: string[], timeoutMs = 30_000, input?: string) {
  const result = spawnSync('ip', ['netns', 'exec', ns, command, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    ...(input !== undefined && { input }),
  });
  return { status: result.status, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export function must(ns: string, command: string, ...args: string[]): string {
  const result = sh(ns, command, args);
  assert.equal(result.status, 0, `${ns}: ${command} ${args.join(' ')}: ${result.out}`);
  return result.out;
}

/** A process in a namespace, its output collected; the caller stops it. */
export function spawnIn(ns: string, args: string[], output: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], env ? { env } : {});
  const collect = (chunk: Buffer) => output.push(chunk.toString('utf8'));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return child;
}

/** A veth pair from `ns` (link `name`) to `peerNs` (link `peerName`), both up, with their addresses. */
export function wire(
  ns: string,
  name: string,
  address: string,
  peerNs: string,
  peerName: string,
  peerAddress?: string,
): void {
  must(ns, 'ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', peerName, 'netns', peerNs);
  must(ns, 'ip', 'addr', 'add', address, 'dev', name);
  if (peerAddress) must(peerNs, 'ip', 'addr', 'add', peerAddress, 'dev', peerName);
  must(ns, 'ip', 'link', 'set', name, 'up');
  must(peerNs, 'ip', 'link', 'set', peerName, 'up');
}

/**
 * One `moat simulate-printer` per printer in the segment namespace, on its segment address (added to
 * `link` there), with the camera and bind services; each one's access code goes into Moat's secrets. Returns
 * the configuration entries for them (the simulator's test CA as their certificate policy).
 */
export async function startSimulatedPrinters(
  segment: string,
  link: string,
  printers: PlannedPrinter[],
  dir: string,
  paths: StatePaths,
  children: ChildProcess[],
): Promise<Record<string, unknown>[]> {
  const entries = [];
  for (const p of printers) {
    must(segment, 'ip', 'addr', 'add', `${p.address}/24`, 'dev', link);
    const accessCode = generateAccessCode();
    const caFile = join(dir, `printer-ca-${p.serial}.pem`);
    const output: string[] = [];
    children.push(
      spawnIn(
        segment,
        [
          process.execPath,
          cli,
          'simulate-printer',
          ...['--serial', p.serial, '--model', p.model, '--host', p.address, '--access-code', accessCode],
          ...['--ftp-dir', join(dir, `storage-${p.serial}`), '--tcp-services', '--ca-out', caFile],
        ],
        output,
      ),
    );
    await waitFor(() => output.join('').includes('"serial"'), {
      what: `simulated printer ${p.serial}`,
      timeoutMs: 30_000,
    });
    writeSecret(paths, printerSecretName(p.serial), accessCode);
    entries.push({
      serial: p.serial,
      model: p.model,
      address: p.address,
      mqtt: {},
      ftp: {},
      certificate: { policy: 'test-ca', caFile },
    });
  }
  return entries;
}

/** The certificate a printer's LAN address presents, verified against Moat's CA for that address. */
export function assertPrinterCertificate(lan: string, caCert: string, serial: string, lanAddress: string): void {
  const tls = sh(
    lan,
    'openssl',
    ['s_client', '-connect', `${lanAddress}:8883`, '-CAfile', caCert, '-verify_ip', lanAddress],
    20_000,
    '',
  );
  assert.match(tls.out, /Verify return code: 0 \(ok\)/, tls.out);
  assert.match(tls.out, new RegExp(`subject=CN ?= ?${serial}`), tls.out);
}

/** One report of the printer, by mosquitto_sub from `lan` on the printer's LAN address. */
export function assertPrinterReport(lan: string, caCert: string, code: string, serial: string, lanAddress: string) {
  const report = sh(
    lan,
    'mosquitto_sub',
    [
      ...['-h', lanAddress, '-p', '8883', '--cafile', caCert, '-u', 'bblp', '-P', code],
      ...['-t', `device/${serial}/report`, '-C', '1', '-W', '20'],
    ],
    30_000,
  );
  assert.equal(report.status, 0, report.out);
  assert.ok(JSON.parse(report.out).print, report.out);
}
