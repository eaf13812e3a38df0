import type { AedesPublishPacket, Client } from 'aedes';
import type { PrinterConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ServiceContext } from '../service-context.js';
import type { PrinterStatus } from '../status.js';
import { availabilityPacket } from './availability.js';
import type { CommandResults } from './command-results.js';
import type { LanReports } from './lan-reports.js';
import { PrinterLink } from './printer-link.js';

export interface PrinterLinksOptions {
  results: CommandResults;
  reports: LanReports;
  /** The LAN clients a report may go to (report-fanout picks the subscribed ones). */
  subscribers: () => Iterable<Client>;
  /** Moat's own retained messages to LAN clients, through the broker. */
  publishToLan: (packet: AedesPublishPacket) => void;
  log: Logger;
}

/**
 * One `PrinterLink` per bridged printer (passthrough printers are left to the relays), not yet started: its
 * reports complete pending commands and go to the LAN subscribers, its availability to the retained topic.
 */
export function linkPrinters(ctx: ServiceContext, options: PrinterLinksOptions): Map<string, PrinterLink> {
  const { results, reports, subscribers, publishToLan, log } = options;
  const limits = ctx.config.get().mqtt;
  const links = new Map<string, PrinterLink>();
  for (const printer of ctx.config.get().printers.filter((p) => !p.passthrough)) {
    const link = new PrinterLink({
      printer,
      accessCode: () => ctx.printerAccessCode(printer.serial),
      lanAddress: ctx.lanAddress(),
      logger: log,
      pushallIntervalMs: limits.pushallIntervalMs,
      quietRepushMs: limits.quietRepushMs,
      retryMinMs: limits.upstreamRetryMinMs,
      retryMaxMs: limits.upstreamRetryMaxMs,
      onReport(payload, parsed) {
        results.observe(parsed);
        // Only metrics listen, and only when enabled: no event object per report otherwise.
        if (ctx.events.listenerCount('report') > 0) {
          ctx.events.emit('report', { serial: printer.serial, bytes: payload.length });
        }
        reports.fanOut(subscribers(), printer.serial, payload);
      },
      onAvailability(online) {
        publishToLan(availabilityPacket(printer.serial, online) as AedesPublishPacket);
        ctx.events.emit('printer', { serial: printer.serial, online, at: new Date().toISOString() });
      },
    });
    links.set(printer.serial, link);
    publishToLan(availabilityPacket(printer.serial, false) as AedesPublishPacket);
  }
  return links;
}

/** The dashboard's view of the bridged printers, in the configuration's order. */
export function printerStatuses(printers: PrinterConfig[], links: ReadonlyMap<string, PrinterLink>): PrinterStatus[] {
  const statuses: PrinterStatus[] = [];
  for (const p of printers) {
    const link = links.get(p.serial);
    if (!link) continue;
    statuses.push({
      serial: p.serial,
      name: p.name,
      model: p.model,
      online: link.online,
      ...(link.cache.lastReportAt !== undefined && {
        state: link.cache.snapshot(),
        lastReportAt: new Date(link.cache.lastReportAt).toISOString(),
      }),
    });
  }
  return statuses;
}
