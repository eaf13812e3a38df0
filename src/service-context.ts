import type { TlsOptions, Server as TlsServer } from 'node:tls';
import { AuditLog } from './audit/audit-log.js';
import { AccessCodeVerifier } from './auth/access-codes.js';
import { LanAuthenticator } from './auth/lan-auth.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { loadServerIdentity } from './certs/identity.js';
import { LiveIdentity } from './certs/live-identity.js';
import type { ServerIdentity } from './certs/store.js';
import { ConfigHolder } from './config/holder.js';
import { printerSecretName, readSecret } from './config/secrets.js';
import type { StatePaths } from './config/state-dir.js';
import { ensureStateDir } from './config/store.js';
import { MoatEvents } from './events.js';
import { Spool } from './ftp/spool/spool.js';
import { createLogger, type Logger } from './log.js';
import { primaryLanAddress } from './net/lan-addresses.js';

/** What the composition root (service.ts) hands every capability it starts. */
export interface ServiceContext {
  paths: StatePaths;
  config: ConfigHolder;
  /**
   * Moat's CA and the server certificate every LAN listener presents: the current one, re-issued while Moat
   * runs when printers, the hostname or the LAN addresses change.
   */
  readonly identity: ServerIdentity;
  /**
   * Keeps a LAN TLS listener presenting the current certificate: after a re-issue new connections get the new
   * one, open ones carry on. `options` builds the listener's full TLS options from an identity.
   */
  followIdentity(server: TlsServer, options: (identity: ServerIdentity) => TlsOptions): void;
  logger: Logger;
  events: MoatEvents;
  accessCodes: AccessCodeVerifier;
  /**
   * The one login throttle, keyed by client address, for every way in (MQTT, FTPS, the setup page). It lives
   * as long as the process: restarting the bridges does not give a guesser a fresh budget.
   */
  logins: LoginThrottle;
  /**
   * The audit log of LAN commands: written by the MQTT bridge, read by the dashboard. Like `logins` it lives
   * as long as the process, so the dashboard's audit view stays while the bridges restart.
   */
  audit: AuditLog;
  /**
   * Store-and-forward uploads: filled by the FTPS bridge, drained to the printers, asked by the MQTT bridge's
   * print gate. Lives as long as the process, so a drain carries on while the bridges restart.
   */
  spool: Spool;
  /** LAN login for the bridges: access codes behind `logins`. */
  lanAuth: LanAuthenticator;
  /** The printer's own access code, read from its secret file; throws when it was never set. */
  printerAccessCode(serial: string): string;
  /** Moat's address as LAN clients see it: PASV replies, NOTIFY Location, rewritten reports. */
  lanAddress(): string;
  /** Demo and tests on loopback: no firewall required, bridges start without one. */
  developmentMode: boolean;
}

/** Anything started by the composition root: it must stop cleanly, releasing its sockets. */
export interface RunningService {
  close(): Promise<void>;
}

export interface ServiceContextOptions {
  paths: StatePaths;
  /** Demo and tests: bridges start without a firewall. */
  developmentMode?: boolean;
  logger?: Logger;
  events?: MoatEvents;
}

/**
 * The shared services, created once for the process: the configuration holder, the server identity (with
 * the handle that re-issues it), the event bus, the login throttle and the audit log. Capabilities started
 * and restarted on this context all share them.
 */
export async function createServiceContext(
  options: ServiceContextOptions,
): Promise<{ context: ServiceContext; identity: LiveIdentity }> {
  const { paths } = options;
  ensureStateDir(paths);
  const config = new ConfigHolder(paths);
  const identity = new LiveIdentity(await loadServerIdentity(paths, config.get()));
  const accessCodes = new AccessCodeVerifier(() => config.get());
  const logins = new LoginThrottle(() => ({
    baseDelayMs: config.get().mqtt.loginDelayBaseMs,
    maxDelayMs: config.get().mqtt.loginDelayMaxMs,
  }));
  const logger = options.logger ?? createLogger();
  const events = options.events ?? new MoatEvents();
  const printerAccessCode = (serial: string) => {
    const code = readSecret(paths, printerSecretName(serial));
    if (code === undefined) throw new Error(`no access code stored for printer ${serial}`);
    return code.trim();
  };
  const spool = new Spool({
    root: paths.spool,
    config: () => config.get(),
    accessCode: printerAccessCode,
    events,
    logger,
  });
  const context: ServiceContext = {
    paths,
    config,
    get identity() {
      return identity.identity;
    },
    followIdentity: (server, tlsOptions) => identity.follow(server, tlsOptions),
    logger,
    events,
    accessCodes,
    logins,
    audit: new AuditLog(paths.auditLog, () => config.get().audit.maxBytes),
    spool,
    lanAuth: new LanAuthenticator(accessCodes, logins),
    printerAccessCode,
    lanAddress: () => primaryLanAddress(config.get()),
    developmentMode: options.developmentMode ?? false,
  };
  // Whatever an earlier run (or a power cut) left in the spool goes on to its printer.
  spool.resume();
  return { context, identity };
}
