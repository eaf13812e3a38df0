import { Aedes, type Client } from 'aedes';
import type { Role } from '../config/schema.js';
import type { ClientEvent } from '../events.js';
import type { TokenBucket } from './rate-limit.js';

/** What a LAN client's login gave it. */
export interface LanSession {
  label: string;
  role: Role;
  /** Its publishes (commands) per second. */
  publishes: TokenBucket;
}

/** Everything the bridge keeps about one LAN connection, from its TLS accept until it closes. */
export interface LanClient {
  readonly address: string;
  /** Set once its login succeeded. */
  session?: LanSession;
  /** Set while aedes holds it as a connected client: what the dashboard lists. */
  shown?: ClientEvent;
}

/**
 * The bridge's one table of LAN clients: a record per connection (aedes's `client.conn`), made when the TLS
 * connection is accepted — so the hooks that run before login know the address — and gone with it.
 */
export class LanClients {
  private readonly records = new WeakMap<object, LanClient>();
  /**
   * The clients aedes holds as connected, for the report fan-out: aedes's own table is an object keyed by
   * client id that turns into a dictionary once a client leaves, and reading its values for every report
   * cost ~2 % of Moat's CPU with 50 subscribers (issue 17).
   */
  private readonly registered = new Set<Client>();
  private loggedIn = 0;

  /** A connection accepted on the LAN listener, before aedes reads from it. */
  accept(conn: object, address: string): void {
    this.records.set(conn, { address });
  }

  of(client: Client): LanClient | undefined {
    return this.records.get(client.conn);
  }

  addressOf(client: Client): string {
    return this.of(client)?.address ?? 'unknown';
  }

  sessionOf(client: Client): LanSession | undefined {
    return this.of(client)?.session;
  }

  /** Logged-in connections still open: what `mqtt.maxClients` limits. */
  get authenticated(): number {
    return this.loggedIn;
  }

  /** Records a successful login; the connection counts towards the client limit until it closes. */
  logIn(client: Client, session: LanSession): void {
    const record = this.of(client);
    if (record) record.session = session;
    this.loggedIn++;
    client.conn.once('close', () => this.loggedIn--);
  }

  /** Who reports may go to: every client aedes registered and has not let go, in the order they came. */
  get connected(): Iterable<Client> {
    return this.registered;
  }

  /** aedes registered the client: it is listed from now on. */
  show(client: Client): ClientEvent | undefined {
    this.registered.add(client);
    const record = this.of(client);
    const session = record?.session;
    if (!record || !session) return undefined;
    record.shown = {
      protocol: 'mqtt',
      kind: 'connected',
      clientId: client.id,
      label: session.label,
      role: session.role,
      address: record.address,
      at: new Date().toISOString(),
    };
    return record.shown;
  }

  /** aedes let the client go: the event that says so, if it was listed. */
  hide(client: Client): ClientEvent | undefined {
    this.registered.delete(client);
    const record = this.of(client);
    const shown = record?.shown;
    if (!record || !shown) return undefined;
    record.shown = undefined;
    return { ...shown, kind: 'disconnected', at: new Date().toISOString() };
  }

  /** The connected clients as the dashboard lists them, oldest first. */
  list(): ClientEvent[] {
    const listed: ClientEvent[] = [];
    for (const client of this.registered) {
      const shown = this.of(client)?.shown;
      if (shown) listed.push(shown);
    }
    return listed;
  }
}

/** aedes's table of connected clients by id, from the broker or any of its clients (neither is in aedes's typings). */
export function clientTable(from: Aedes | Client): Record<string, Client | undefined> {
  const broker = from instanceof Aedes ? from : (from as unknown as { broker: Aedes }).broker;
  return (broker as unknown as { clients: Record<string, Client | undefined> }).clients;
}
