import { createSocket, type Socket } from 'node:dgram';
import type { SimulatedNotifyOptions, SimulatedService } from './types.js';

export const ssdpMulticastGroup = '239.255.255.250';
export const ssdpMulticastPort = 1990;
/** Printers send their NOTIFY from the SSDP port. */
const printerSourcePort = 1900;

/**
 * The headers a real printer puts in its NOTIFY (see the protocol reference, "Discovery"), written here from
 * the reference and not with the discovery relay's own formatter: a test of the relay is only as good as a
 * printer that does not share the relay's idea of the format.
 */
export function printerNotifyHeaders(
  options: Pick<SimulatedNotifyOptions, 'serial' | 'model' | 'location'>,
): [name: string, value: string][] {
  return [
    ['HOST', `${ssdpMulticastGroup}:1900`],
    ['Server', 'UPnP/1.0'],
    ['Location', options.location],
    ['NT', 'urn:bambulab-com:device:3dprinter:1'],
    ['USN', options.serial],
    ['Cache-Control', 'max-age=1800'],
    ['DevModel.bambu.com', options.model.ssdpModel],
    ['DevName.bambu.com', `Simulated ${options.model.id}`],
    ['DevSignal.bambu.com', '-44'],
    ['DevConnect.bambu.com', 'lan'],
    ['DevBind.bambu.com', 'free'],
    ['Devseclink.bambu.com', 'secure'],
    ['DevVersion.bambu.com', '01.07.00.00'],
    ['DevCap.bambu.com', '1'],
  ];
}

/** The datagram: the start line, one `Name: value` line per header, an empty line; CRLF throughout. */
export function printerNotify(options: Pick<SimulatedNotifyOptions, 'serial' | 'model' | 'location'>): Buffer {
  const lines = printerNotifyHeaders(options).map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.from(`NOTIFY * HTTP/1.1\r\n${lines.join('')}\r\n`, 'latin1');
}

/** Binds to port 1900 like a printer; falls back to any port where 1900 is taken or not allowed. */
async function bindSender(bindAddress: string | undefined): Promise<Socket> {
  for (const port of [printerSourcePort, 0]) {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port, ...(bindAddress !== undefined && { address: bindAddress }), exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      return socket;
    } catch (error) {
      socket.close();
      if (port === 0) throw error;
    }
  }
  throw new Error('unreachable');
}

/** The printer's NOTIFY announcements: one at once, then one every intervalMs until closed. */
export async function startNotifier(options: SimulatedNotifyOptions): Promise<SimulatedService> {
  const socket = await bindSender(options.bindAddress);
  // Sending to 255.255.255.255 or a subnet broadcast needs SO_BROADCAST.
  socket.setBroadcast(true);
  if (options.multicast && options.bindAddress) socket.setMulticastInterface(options.bindAddress);
  // A send error (no route yet, interface down) is what a printer shrugs off too: try again next tick.
  socket.on('error', () => {});
  const message = printerNotify(options);
  const send = () => {
    socket.send(message, options.targetPort, options.targetHost, (error) => {
      if (!error) options.stats.notifySent++;
    });
    if (options.multicast) socket.send(message, ssdpMulticastPort, ssdpMulticastGroup, () => {});
  };
  send();
  const timer = setInterval(send, options.intervalMs);
  let closed: Promise<void> | undefined;
  return {
    port: socket.address().port,
    close: () => {
      // Idempotent: tests close early and again in their cleanup.
      clearInterval(timer);
      closed ??= new Promise<void>((resolve) => socket.close(() => resolve()));
      return closed;
    },
  };
}
