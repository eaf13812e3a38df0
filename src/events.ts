import { EventEmitter } from 'node:events';
import type { AuditEvent, ClientEvent, TransferEvent } from './web/api-types.js';

/**
 * The in-process event stream: bridges publish what happens, the dashboard (and metrics) listen.
 * Typed so a producer and its consumers cannot drift apart.
 */
export type { AuditEvent, AuditOutcome, ClientEvent, TransferEvent } from './web/api-types.js';

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
  service: 'web' | 'mqtt' | 'ftp' | 'metrics';
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
