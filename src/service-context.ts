import type { TlsOptions, Server as TlsServer } from 'node:tls';
import type { AccessCodeVerifier } from './auth/access-codes.js';
import type { LanAuthenticator } from './auth/lan-auth.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { ServerIdentity } from './certs/store.js';
import type { ConfigHolder } from './config/holder.js';
import type { StatePaths } from './config/state-dir.js';
import type { MoatEvents } from './events.js';
import type { Logger } from './log.js';

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
