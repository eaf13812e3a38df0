import type { PrinterRelayStats } from './relay/service.js';
import type {
  AuditEvent,
  AuditOutcome,
  ClientEvent,
  FirewallStatus,
  PrinterStatus,
  TransferEvent,
} from './web/api-types.js';

/**
 * What the dashboard reads. Each capability provides its part; the composition root joins them.
 * Snapshots are cheap and synchronous where the data is in memory.
 */
export type { DroppedPort, FirewallStatus, PrinterStatus } from './web/api-types.js';

export interface AuditQuery {
  limit?: number;
  serial?: string;
  label?: string;
  outcome?: AuditOutcome;
}

export interface StatusSources {
  printers(): PrinterStatus[];
  clients(): ClientEvent[];
  transfers(): TransferEvent[];
  firewall(): Promise<FirewallStatus>;
  audit(query: AuditQuery): Promise<AuditEvent[]>;
  /** Camera, file-tunnel, bind and passthrough relays: connections and bytes (metrics). */
  relays(): PrinterRelayStats[];
}
