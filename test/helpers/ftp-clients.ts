import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunResult, run } from './process.js';

/** Real FTP clients (curl, lftp, the Python ftplib client) driven from tests, through process.ts. */

/** The printer's directories that exist from the start (`/cache`, `/model`, `/timelapse`). */
export const printerDirectories = ['cache', 'model', 'timelapse'];

/** What a test put in a printer's storage: its entries other than the printer's own directories, sorted. */
export function storedFiles(storage: string): string[] {
  return readdirSync(storage)
    .filter((name) => !printerDirectories.includes(name))
    .sort();
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/**
 * A file of random bytes (incompressible, so nothing on the way can shrink it), written a megabyte at a
 * time so making a large file does not itself inflate the test process's memory.
 */
export function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < bytes; written += 1024 * 1024)
      writeSync(fd, randomBytes(Math.min(1024 * 1024, bytes - written)));
  } finally {
    closeSync(fd);
  }
}

export interface CurlTarget {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  user: string;
  password: string;
  /** CA file to verify the server; the printer's certificate has no SAN, so tests of the printer use --insecure. */
  caFile?: string;
  tls: boolean;
}

/** curl arguments for an implicit-FTPS (or plain FTP) URL on loopback, passive mode, TLS required. */
/** Moat's FTPS listener in a harness, for one role's access code (the FTP twin of `moatEndpoint`). */
export function moatFtpTarget(
  h: { moat?: { ftp: { port: number } }; moatCaFile: string; codes: Record<'viewer' | 'operator' | 'admin', string> },
  role: 'viewer' | 'operator' | 'admin',
): CurlTarget {
  if (!h.moat) throw new Error('the harness runs no Moat');
  return { port: h.moat.ftp.port, user: 'bblp', password: h.codes[role], caFile: h.moatCaFile, tls: true };
}

/** The Python client pointed at Moat's FTPS listener for one role, verifying Moat's certificate. */
export function moatPythonTarget(h: Parameters<typeof moatFtpTarget>[0], role: 'viewer' | 'operator' | 'admin') {
  const { port, password, caFile } = moatFtpTarget(h, role);
  return { host: '127.0.0.1', port, password, caFile } satisfies PythonFtpsTarget;
}

/** lftp through Moat's FTPS listener for one role, verifying Moat's certificate: `script` runs after login. */
export function moatLftp(
  h: Parameters<typeof moatFtpTarget>[0],
  role: 'viewer' | 'operator' | 'admin',
  script: string,
  options: { debug?: boolean } = {},
): Promise<RunResult> {
  const target = moatFtpTarget(h, role);
  return run('lftp', [
    ...(options.debug ? ['-d'] : []),
    '-c',
    [
      'set cmd:fail-exit true',
      `set ssl:ca-file ${target.caFile}`,
      'set ssl:verify-certificate true',
      'set ftp:ssl-force true',
      'set ftp:ssl-protect-data true',
      'set ftp:passive-mode true',
      'set net:max-retries 1',
      'set net:timeout 10',
      `open -u bblp,${target.password} ftps://127.0.0.1:${target.port}`,
      script,
    ].join('; '),
  ]);
}

export function curlArgs(target: CurlTarget, path: string, extra: string[] = []): string[] {
  const scheme = target.tls ? 'ftps' : 'ftp';
  return [
    '--silent',
    '--show-error',
    '--ftp-pasv',
    ...(target.tls ? ['--ssl-reqd', ...(target.caFile ? ['--cacert', target.caFile] : ['--insecure'])] : []),
    '--user',
    `${target.user}:${target.password}`,
    ...extra,
    `${scheme}://${target.host ?? '127.0.0.1'}:${target.port}/${path}`,
  ];
}

/** An FTPS server as the Python client (test/clients/bambu_ftps.py) is pointed at it. */
export interface PythonFtpsTarget {
  host: string;
  port: number;
  password: string;
  /** CA to verify the server with; without it the client verifies nothing (as some integrations do). */
  caFile?: string;
}

export interface PythonFtpsResult {
  code: number | null;
  /** The client's one JSON line: the operation's result, or `{ error }` with the server's reply. */
  output: Record<string, unknown> & { error?: string };
  stdout: string;
  stderr: string;
}

const bambuFtps = fileURLToPath(new URL('../../../test/clients/bambu_ftps.py', import.meta.url));

/** Runs one operation of the Python client (ftplib, as ha-bambulab and bambulabs_api), Debian's python3. */
export async function pythonFtps(
  target: PythonFtpsTarget,
  operation: string[],
  flags: string[] = [],
  timeoutMs = 60_000,
): Promise<PythonFtpsResult> {
  const args = [bambuFtps, '--host', target.host, '--port', String(target.port), '--password', target.password];
  if (target.caFile) args.push('--cafile', target.caFile);
  const result = await run('/usr/bin/python3', [...args, ...flags, ...operation], timeoutMs);
  let output: PythonFtpsResult['output'];
  try {
    output = JSON.parse(result.stdout.trim().split('\n').pop() ?? '');
  } catch {
    output = { error: `no JSON from the client: ${result.stdout} ${result.stderr}` };
  }
  return { code: result.code, output, stdout: result.stdout, stderr: result.stderr };
}

/** Upload, list, download, rename and delete through lftp, the copies compared by SHA-256; `storage` ends empty. */
export async function assertLftpRoundTrip(
  lftp: (script: string) => Promise<RunResult>,
  dir: string,
  storage: string,
  name: string,
): Promise<void> {
  const source = join(dir, name);
  const copy = join(dir, `back-${name}`);
  writeRandomFile(source, 1024 * 1024 + 3);
  const up = await lftp(`put ${source} -o ${name}; cls -l`);
  assert.equal(up.code, 0, up.stderr);
  assert.ok(up.stdout.includes(name), up.stdout);
  assert.equal(await sha256File(join(storage, name)), await sha256File(source));

  const down = await lftp(`get ${name} -o ${copy}; mv ${name} moved.gcode`);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await sha256File(copy), await sha256File(source));
  assert.deepEqual(storedFiles(storage), ['moved.gcode']);

  const removed = await lftp('rm moved.gcode');
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(storedFiles(storage), []);
}
