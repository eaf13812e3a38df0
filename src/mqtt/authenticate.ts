import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import type { LanAuthenticator } from '../auth/lan-auth.js';
import type { AccessCodeEntry, MoatConfig } from '../config/schema.js';
import type { MoatEvents } from '../events.js';
import type { Logger } from '../log.js';
import { clientTable, type LanClients } from './lan-clients.js';
import { TokenBucket } from './rate-limit.js';

/** The aedes hooks that run before a LAN client is in: `preConnect` (the client limit) and `authenticate`. */
export interface LoginHookOptions {
  clients: LanClients;
  lanAuth: LanAuthenticator;
  events: MoatEvents;
  log: Logger;
  /** The MQTT settings, read at each connection. */
  settings: () => MoatConfig['mqtt'];
}

/** CONNACK, MQTT 3.1.1 (the versions aedes speaks), return code 3. */
const serverUnavailable = Buffer.from([0x20, 0x02, 0x00, 0x03]);

function authError(message: string, returnCode: 2 | 3 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * The client limit comes before any password check: a connection over it costs no scrypt. (Logins in
 * progress are not counted here, so the check after authentication stays for those that race past.)
 */
export function preConnectHook({ clients, log, settings }: LoginHookOptions): NonNullable<AedesOptions['preConnect']> {
  return (client, _packet, done) => {
    if (clients.authenticated < settings().maxClients) {
      done(null, true);
      return;
    }
    log.warn({ address: clients.addressOf(client) }, 'LAN connection refused before login: too many clients');
    // aedes drops a connection refused here without a CONNACK: send the one the limit after login sends
    // (3, "server unavailable"), so clients report the reason and back off instead of retrying at once. The
    // connection is ended, not destroyed, so the CONNACK is not lost to a reset; a client that does not close
    // its side in time is cut off.
    const conn = client.conn;
    const cutOff = setTimeout(() => conn.destroy(), settings().connectTimeoutMs);
    conn.once('close', () => {
      clearTimeout(cutOff);
      done(new Error('too many clients'), false);
    });
    conn.end(serverUnavailable);
  };
}

/** User `bblp` and a LAN access code, behind the service's login throttle; the code's label and role make the session. */
export function authenticateHook(options: LoginHookOptions): NonNullable<AedesOptions['authenticate']> {
  const { clients, lanAuth, events, log } = options;
  return (client, username, password, done) => {
    const address = clients.addressOf(client);
    lanAuth
      .authenticate(address, username, password, () => client.conn.destroyed === true)
      .then(
        (entry) => {
          if (!entry) {
            log.info({ address, clientId: client.id }, 'LAN login refused: wrong user name or access code');
            events.emit('loginFailure', { service: 'mqtt', address });
            done(authError('not authorized', 5), false);
            return;
          }
          const refusal = admissionRefusal(options, client, entry);
          if (refusal) {
            done(refusal, false);
            return;
          }
          const { publishesPerSecond, publishBurst } = options.settings();
          clients.logIn(client, {
            label: entry.label,
            role: entry.role,
            publishes: new TokenBucket(publishesPerSecond, publishBurst),
          });
          done(null, true);
        },
        (error: unknown) => {
          log.error({ err: error, address }, 'LAN login failed');
          done(authError('not authorized', 5), false);
        },
      );
  };
}

/** Why a client with a right access code is still not let in, if it is not. */
function admissionRefusal(
  { clients, log, settings }: LoginHookOptions,
  client: Client,
  entry: AccessCodeEntry,
): AuthenticateError | undefined {
  const address = clients.addressOf(client);
  // aedes lets a new client take over the session of one with the same id: only the same access code may.
  const holder = clientTable(client)[client.id];
  if (holder && holder !== client && clients.sessionOf(holder)?.label !== entry.label) {
    log.warn({ address, label: entry.label }, 'LAN login refused: client id in use by another access code');
    return authError('client id in use', 2);
  }
  if (clients.authenticated >= settings().maxClients) {
    log.warn({ address, label: entry.label }, 'LAN login refused: too many clients');
    return authError('too many clients', 3);
  }
  return undefined;
}
