import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyAndCert } from '../../src/certs/x509.js';
import { waitFor } from './wait.js';

/**
 * Debian's vsftpd — the FTP server Bambu printers run — configured as a printer configures it, for tests
 * of the printer side against the real software rather than the project's simulator:
 * implicit TLS (`implicit_ssl`), `require_ssl_reuse`, TLS 1.2 only, the printer's plain-RSA AES-GCM suites,
 * passive mode in a range, user `bblp` with the printer's access code, the printer's directory layout, a
 * certificate the caller gives (the simulated printer's leaf: CN = serial, no SAN, issued by its CA).
 *
 * Login: a PAM service of the test's own (`/etc/pam.d/moat-test-vsftpd-*`, removed on close) with
 * pam_pwdfile (Debian package libpam-pwdfile) reading a `bblp:<crypt hash>` file in the temp dir, plus
 * `guest_enable` mapping the login to the system user `ftp` that Debian's vsftpd package creates. Chosen
 * because it creates no system account and changes nothing of the machine's own login or FTP setup: one
 * file in /etc/pam.d for the test's lifetime. (pam_exec does not work here: vsftpd's privileged process
 * reaps pam_exec's child itself and then waits forever for its session process.)
 *
 * Debian 12's vsftpd 3.0.3 has no `ssl_tlsv1_2` option, so TLS 1.2 is pinned with an OPENSSL_CONF file
 * given to the vsftpd process alone. `seccomp_sandbox` and `isolate*` are off: containers refuse them.
 */
export interface Vsftpd {
  host: string;
  port: number;
  /** The printer's storage as vsftpd serves it (`/`). */
  rootDir: string;
  /** vsftpd's own log (protocol lines included), for failure messages. */
  log(): string;
  close(): Promise<void>;
}

export interface VsftpdOptions {
  accessCode: string;
  /** The certificate and key vsftpd presents. */
  identity: KeyAndCert;
  /** vsftpd's `local_max_rate`: a cap per transfer, bytes per second (0 = none). */
  maxRate?: number;
}

/** Why vsftpd cannot run here (a reason to skip with), or false when it can. */
export function vsftpdUnavailable(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to run vsftpd (PAM, chroot; CI runs as root)';
  if (spawnSync('sh', ['-c', 'command -v vsftpd']).status !== 0) return 'vsftpd is not installed';
  if (spawnSync('getent', ['passwd', 'ftp']).status !== 0)
    return 'the system user ftp (from the vsftpd package) is missing';
  if (!existsSync(pamPwdfile)) return 'pam_pwdfile is not installed (Debian package libpam-pwdfile)';
  return false;
}

const pamDir = '/etc/pam.d';
const pamPwdfile = '/lib/x86_64-linux-gnu/security/pam_pwdfile.so';
const running = new Set<() => void>();
// A test runner killed mid-test must not leave vsftpd or the PAM file behind.
process.once('exit', () => {
  for (const stop of running) stop();
});

function uidOf(user: string): { uid: number; gid: number } {
  const entry = spawnSync('getent', ['passwd', user], { encoding: 'utf8' }).stdout.split(':');
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

function configText(dir: string, options: VsftpdOptions, pamService: string, host: string, port: number): string {
  const passiveMin = randomInt(200, 399) * 50;
  return [
    'listen=YES',
    'listen_ipv6=NO',
    `listen_address=${host}`,
    `listen_port=${port}`,
    'background=NO',
    // The printer's account: guest login for the one user bblp, with a local user's rights to write.
    'anonymous_enable=NO',
    'local_enable=YES',
    'write_enable=YES',
    'local_umask=022',
    'guest_enable=YES',
    'guest_username=ftp',
    'virtual_use_local_privs=YES',
    `pam_service_name=${pamService}`,
    `local_root=${join(dir, 'storage')}`,
    'chroot_local_user=YES',
    'allow_writeable_chroot=YES',
    `secure_chroot_dir=${join(dir, 'empty')}`,
    // Passive only, as on the printer.
    'pasv_enable=YES',
    'port_enable=NO',
    `pasv_min_port=${passiveMin}`,
    `pasv_max_port=${passiveMin + 49}`,
    // The printer's TLS: implicit, required for login and data, data sessions resumed from the control one.
    'ssl_enable=YES',
    'implicit_ssl=YES',
    'force_local_logins_ssl=YES',
    'force_local_data_ssl=YES',
    'require_ssl_reuse=YES',
    'ssl_sslv2=NO',
    'ssl_sslv3=NO',
    'ssl_tlsv1=YES',
    'ssl_ciphers=AES256-GCM-SHA384:AES128-GCM-SHA256',
    `rsa_cert_file=${join(dir, 'cert.pem')}`,
    `rsa_private_key_file=${join(dir, 'key.pem')}`,
    ...(options.maxRate ? [`local_max_rate=${options.maxRate}`] : []),
    // Containers refuse vsftpd's seccomp filter and its network/PID namespaces.
    'seccomp_sandbox=NO',
    'isolate=NO',
    'isolate_network=NO',
    'syslog_enable=NO',
    `vsftpd_log_file=${join(dir, 'vsftpd.log')}`,
    'log_ftp_protocol=YES',
    'dual_log_enable=NO',
    'xferlog_enable=YES',
    '',
  ].join('\n');
}

/** Starts vsftpd on a random 127.0.0.x and port; retries elsewhere when that port is taken. */
export async function startVsftpd(options: VsftpdOptions): Promise<Vsftpd> {
  const dir = mkdtempSync(join(tmpdir(), 'moat-vsftpd-'));
  chmodSync(dir, 0o755);
  const ftpUser = uidOf('ftp');
  const storage = join(dir, 'storage');
  for (const sub of ['', 'cache', 'model', 'timelapse']) {
    mkdirSync(join(storage, sub), { recursive: true });
    chownSync(join(storage, sub), ftpUser.uid, ftpUser.gid);
  }
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'cert.pem'), options.identity.certPem);
  writeFileSync(join(dir, 'key.pem'), options.identity.keyPem, { mode: 0o600 });
  // pam_pwdfile reads user:crypt-hash lines; openssl makes the SHA-512 crypt hash (the code goes on stdin).
  const hash = spawnSync('openssl', ['passwd', '-6', '-stdin'], { input: options.accessCode, encoding: 'utf8' });
  if (hash.status !== 0) throw new Error(`openssl passwd failed: ${hash.stderr}`);
  writeFileSync(join(dir, 'passwd'), `bblp:${hash.stdout.trim()}\n`, { mode: 0o600 });
  // Linux-PAM looks the service up in lower case.
  const pamService = `moat-test-vsftpd-${process.pid}-${randomBytes(4).toString('hex')}`;
  const pamFile = join(pamDir, pamService);
  writeFileSync(
    pamFile,
    `auth required pam_pwdfile.so pwdfile=${join(dir, 'passwd')}\naccount required pam_permit.so\n`,
  );
  // TLS 1.2 only, for this process: Debian 12's vsftpd has no option for it.
  writeFileSync(
    join(dir, 'openssl.cnf'),
    [
      'openssl_conf = moat_vsftpd',
      '[moat_vsftpd]',
      'ssl_conf = moat_vsftpd_ssl',
      '[moat_vsftpd_ssl]',
      'system_default = moat_vsftpd_tls',
      '[moat_vsftpd_tls]',
      'MinProtocol = TLSv1.2',
      'MaxProtocol = TLSv1.2',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let stderr = '';
  const stop = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      // vsftpd forks a process per session into its own process group (detached below): end them all.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
    rmSync(pamFile, { force: true });
  };
  running.add(stop);
  const cleanup = async () => {
    const exited =
      child && child.exitCode === null && child.signalCode === null
        ? new Promise((resolve) => child?.once('exit', resolve))
        : undefined;
    stop();
    await exited;
    running.delete(stop);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let attempt = 0; ; attempt++) {
      const host = `127.0.0.${randomInt(100, 199)}`;
      const port = randomInt(10000, 19999);
      const config = join(dir, 'vsftpd.conf');
      writeFileSync(config, configText(dir, options, pamService, host, port));
      stderr = '';
      const started = spawn('vsftpd', [config], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, OPENSSL_CONF: join(dir, 'openssl.cnf') },
      });
      child = started;
      const output = (chunk: Buffer) => {
        stderr += chunk.toString();
      };
      started.stdout?.on('data', output);
      started.stderr?.on('data', output);
      const listening = await waitFor(
        async () => {
          if (started.exitCode !== null || started.signalCode !== null) return 'exited';
          return (await canConnect(host, port)) && 'listening';
        },
        { timeoutMs: 10_000, intervalMs: 20, what: `vsftpd to listen on ${host}:${port}` },
      );
      if (listening === 'listening') {
        return {
          host,
          port,
          rootDir: storage,
          log: () => `${stderr}${readLog(dir)}`,
          close: cleanup,
        };
      }
      if (!/could not bind/.test(stderr) || attempt >= 5) throw new Error(`vsftpd did not start: ${stderr.trim()}`);
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'vsftpd.log'), 'utf8');
  } catch {
    return '';
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
