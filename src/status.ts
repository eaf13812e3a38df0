import type { CloudAccess } from './config/schema.js';
import type { AuditEvent, AuditOutcome, ClientEvent, TransferEvent } from './events.js';
import type { PrinterRelayStats } from './relay/service.js';

/**
 * What the dashboard reads. Each capability provides its part; the composition root joins them.
 * Snapshots are cheap and synchronous where the data is in memory.
 */
export interface PrinterStatus {
  serial: string;
  name: string;
  model: string;
  online: boolean;
  /** The merged full state from the cache (`print` object of the report), when known. */
  state?: Record<string, unknown>;
  lastReportAt?: string;
}

/** Packets strict cloud access dropped towards one destination port. */
export interface DroppedPort {
  protocol: string;
  port: number;
  packets: number;
  bytes: number;
}

export interface FirewallStatus {
  enabled: boolean;
  applied: boolean;
  /** Differences between the rendered and the live ruleset; empty when they agree. */
  problems: string[];
  /** Drop counters by rule comment. */
  counters: Record<string, { packets: number; bytes: number }>;
  /** Strict cloud access only: what the printer tried to send outwards and was refused, by destination port. */
  droppedPorts: DroppedPort[];
  cloudAccess: CloudAccess;
}

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
