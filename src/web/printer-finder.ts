import { createSocket, type Socket } from 'node:dgram';
import { headerValue, parseNotify } from '../discovery/notify-message.js';
import { printerModels } from '../printer-models.js';
import type { FoundPrinter } from './api-types.js';

/**
 * Listens for the printers' NOTIFY announcements (UDP 2021) so the wizard can offer the printer it sees on
 * the segment. Everything in a NOTIFY is untrusted input: the message is validated by the discovery
 * relay's parser, the name is bounded here, and the page renders every field as text.
 */

const maxPrinters = 32;
const forgetAfterMs = 60_000;

/** One NOTIFY datagram as the wizard shows it; undefined for anything that is not a printer announcement. */
export function foundPrinterFromNotify(packet: Buffer, at = new Date()): FoundPrinter | undefined {
  // The discovery relay's parser: size, printable headers, NT, serial and bare-IPv4 Location checked there.
  const parsed = parseNotify(packet);
  if (!parsed.ok) return undefined;
  const { headers, serial, location } = parsed.notify;
  const model = printerModels.find((m) => m.ssdpModel === headerValue(headers, 'DevModel.bambu.com'))?.id;
  const signal = headerValue(headers, 'DevSignal.bambu.com');
  return {
    serial,
    address: location,
    ...(model !== undefined && { model }),
    name: (headerValue(headers, 'DevName.bambu.com') ?? '').slice(0, 64),
    ...(signal !== undefined && /^-?\d{1,3}(dBm)?$/.test(signal) && { signal }),
    lastSeen: at.toISOString(),
  };
}

export interface PrinterFinder {
  port: number;
  /** Printers heard from within the last minute, most recent first. */
  found(): FoundPrinter[];
  close(): Promise<void>;
}

/**
 * `ignoreSources`: addresses whose NOTIFYs are not printers on the segment — Moat's own LAN addresses, from
 * which the discovery relay re-announces the printer (with Location rewritten) to the same port.
 */
export async function startPrinterFinder(
  port: number,
  bindAddress: string,
  ignoreSources: () => string[] = () => [],
): Promise<PrinterFinder> {
  const seen = new Map<string, FoundPrinter>();
  // reuseAddr: the discovery relay listens on the same port for the same announcements.
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', (packet, from) => {
    if (ignoreSources().includes(from.address)) return;
    const printer = foundPrinterFromNotify(packet);
    if (!printer) return;
    seen.delete(printer.serial);
    seen.set(printer.serial, printer);
    // Bounded: a flood of invented serials pushes out the oldest, never grows memory.
    while (seen.size > maxPrinters) seen.delete(seen.keys().next().value as string);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, bindAddress, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {
    // A receive error on a datagram socket concerns one packet; the listener carries on.
  });
  return {
    port: socket.address().port,
    found() {
      const cutoff = Date.now() - forgetAfterMs;
      return [...seen.values()].filter((p) => Date.parse(p.lastSeen) >= cutoff).reverse();
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
