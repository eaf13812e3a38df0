import { createSocket, type Socket } from 'node:dgram';
import { serialPattern } from '../config/schema.js';
import { printerModels } from '../printer-models.js';

/**
 * Listens for the printers' NOTIFY announcements (UDP 2021) so the wizard can offer the printer it sees on
 * the segment. Everything in a NOTIFY is untrusted input: fields are validated and bounded here, and the
 * page renders them as text.
 */

export interface FoundPrinter {
  serial: string;
  address: string;
  /** Moat's model id when the announced model is known. */
  model?: string;
  /** The printer's own name, as announced (untrusted text). */
  name: string;
  /** Wi-Fi signal as announced, e.g. "-45dBm". */
  signal?: string;
  lastSeen: string;
}

const maxPacketBytes = 2048;
const maxPrinters = 32;
const forgetAfterMs = 60_000;
const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses one NOTIFY datagram; undefined for anything that is not a well-formed printer announcement. */
export function parseNotify(packet: Buffer, at = new Date()): FoundPrinter | undefined {
  if (packet.length > maxPacketBytes) return undefined;
  const lines = packet.toString('utf8').split(/\r?\n/);
  if (!/^NOTIFY \* HTTP\/1\.1$/i.test(lines[0]?.trim() ?? '')) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (!headers.get('nt')?.startsWith('urn:bambulab-com:device:3dprinter')) return undefined;
  const serial = headers.get('usn') ?? '';
  const address = headers.get('location') ?? '';
  if (!serialPattern.test(serial) || !ipv4.test(address)) return undefined;
  const model = printerModels.find((m) => m.ssdpModel === headers.get('devmodel.bambu.com'))?.id;
  const signal = headers.get('devsignal.bambu.com');
  return {
    serial,
    address,
    ...(model !== undefined && { model }),
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are dropped from the name
    name: (headers.get('devname.bambu.com') ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 64),
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

export async function startPrinterFinder(port: number, bindAddress: string): Promise<PrinterFinder> {
  const seen = new Map<string, FoundPrinter>();
  // reuseAddr: the discovery relay listens on the same port for the same announcements.
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', (packet) => {
    const printer = parseNotify(packet);
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
