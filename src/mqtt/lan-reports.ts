import type { Client } from 'aedes';
import type { AuditEvent } from '../events.js';
import type { Logger } from '../log.js';
import type { LanClients } from './lan-clients.js';
import type { PrinterLink } from './printer-link.js';
import {
  encodeReport,
  fanOutReport,
  type ReportQueueCap,
  type ReportSubscriber,
  sendReport,
  subscribesTo,
} from './report-fanout.js';

export const reportTopic = (serial: string) => `device/${serial}/report`;

export interface LanReportsOptions {
  clients: LanClients;
  audit: (event: AuditEvent) => void;
  log: Logger;
  /** `mqtt.maxQueuedReportBytes` (a change restarts the bridge). */
  maxQueuedBytes: number;
}

/**
 * Every packet on a report topic goes to LAN clients through here (report-fanout, not aedes), so a client's
 * report-topic packets stay in order: printer reports, a new subscriber's full state, Moat's own replies.
 */
export class LanReports {
  private readonly caps = new Map<string, ReportQueueCap>();

  constructor(private readonly options: LanReportsOptions) {}

  /** A printer's report to every client subscribed to its topic. */
  fanOut(subscribers: Iterable<Client>, serial: string, payload: Buffer): void {
    fanOutReport(
      subscribers as Iterable<unknown> as Iterable<ReportSubscriber>,
      reportTopic(serial),
      payload,
      this.cap(serial),
    );
  }

  /** A report-topic packet to one client, whatever it subscribed to. */
  send(client: Client, serial: string, payload: Buffer): void {
    sendReport(asSubscriber(client), encodeReport(reportTopic(serial), payload), this.cap(serial));
  }

  /** A report-topic packet to one client, if it subscribed to the printer's reports. */
  sendIfSubscribed(client: Client, serial: string, payload: Buffer): void {
    if (subscribesTo(asSubscriber(client), reportTopic(serial))) this.send(client, serial, payload);
  }

  /** The printer's full state from the cache, with the client's `sequence_id` when it asked for it. */
  sendFullState(client: Client, link: PrinterLink, sequenceId?: string): void {
    this.send(client, link.serial, link.cache.fullReport(sequenceId));
  }

  private cap(serial: string): ReportQueueCap {
    let cap = this.caps.get(serial);
    if (!cap) {
      cap = this.overflowAudited(serial);
      this.caps.set(serial, cap);
    }
    return cap;
  }

  /** A subscriber past the cap is disconnected (report-fanout does that); here it is logged and audited. */
  private overflowAudited(serial: string): ReportQueueCap {
    const { clients, audit, log } = this.options;
    return {
      maxBytes: this.options.maxQueuedBytes,
      onOverflow(subscriber, queuedBytes) {
        const client = subscriber as unknown as Client;
        const address = clients.addressOf(client);
        const session = clients.sessionOf(client);
        log.warn({ address, label: session?.label, queuedBytes }, 'LAN subscriber not reading');
        audit({
          at: new Date().toISOString(),
          serial,
          label: session?.label ?? 'unknown',
          role: session?.role ?? 'unknown',
          address,
          command: 'report',
          outcome: 'refused',
          reason: `disconnected: ${queuedBytes} bytes of reports queued unread`,
        });
      },
    };
  }
}

/** aedes's typings leave out what report-fanout reads (`subscriptions`); the object has it. */
function asSubscriber(client: Client): ReportSubscriber {
  return client as unknown as ReportSubscriber;
}
