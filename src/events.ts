import { EventEmitter } from 'node:events';
import type { Role } from './config/schema.js';

/**
 * The in-process event stream: bridges publish what happens, the dashboard (and metrics) listen.
 * Typed so a producer and its consumers cannot drift apart.
 */
export interface ClientEvent {
  protocol: 'mqtt' | 'ftp';
  kind: 'connected' | 'disconnected';
  clientId: string;
  label: string;
  role: Role;
  address: string;
  at: string;
}

export interface TransferEvent {
  id: string;
  serial: string;
  direction: 'upload' | 'download';
  name: string;
  bytes: number;
  /** Known for downloads (SIZE) and when the client announced it (ALLO); otherwise undefined. */
  total?: number;
  state: 'active' | 'done' | 'failed';
  label: string;
  address: string;
  error?: string;
  /** Set for a port-6000 tunnel session: its content is TLS end to end, so bytes and time are all Moat sees. */
  durationMs?: number;
}

/** `refused`: Moat's policy said no. `dropped`: allowed, but the printer connection lost it (see `reason`). */
export type AuditOutcome = 'allowed' | 'refused' | 'dropped';

export interface AuditEvent {
  at: string;
  serial: string;
  label: string;
  role: Role | 'unknown';
  address: string;
  /** `print.pause`, `pushing.pushall`, ... */
  command: string;
  outcome: AuditOutcome;
  reason?: string;
  /** The printer's `result` when it answered. */
  result?: string;
}

export interface PrinterEvent {
  serial: string;
  online: boolean;
  at: string;
}

/** One report from a printer, as received (before it is fanned out to LAN clients). */
export interface ReportEvent {
  serial: string;
  bytes: number;
}

/** A refused login: a wrong password or access code, or a wrong metrics token. */
export interface LoginFailureEvent {
  service: 'web' | 'mqtt' | 'metrics';
  address: string;
}

export interface MoatEventMap {
  client: [ClientEvent];
  transfer: [TransferEvent];
  audit: [AuditEvent];
  printer: [PrinterEvent];
  report: [ReportEvent];
  loginFailure: [LoginFailureEvent];
}

export class MoatEvents extends EventEmitter<MoatEventMap> {
  constructor() {
    super();
    // The dashboard attaches one listener per open page; do not warn at the default of 10.
    this.setMaxListeners(200);
  }
}
