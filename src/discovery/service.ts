import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { Capability } from '../capability.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import { formatNotify, parseNotify, withHeader } from './notify-message.js';

export const ssdpGroup = '239.255.255.250';
export const ssdpMulticastPort = 1990;
/** A printer's NOTIFY arrives twice per cycle (broadcast and multicast): one re-announcement per window. */
const duplicateWindowMs = 1000;

export interface DiscoveryStats {
  received: number;
  relayed: number;
  ignored: { oversized: number; malformed: number; unknownPrinter: number; duplicate: number };
  /** When each printer's NOTIFY was last relayed. */
  lastRelayed: Record<string, string>;
}

export interface DiscoveryRelay extends RunningService {
  /** The bound printer-side ports (useful when configured as 0 in tests). */
  ports: { notify: number; multicast: number };
  stats(): DiscoveryStats;
}

async function bindSocket(port: number, address: string): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.bind(port, address);
  await Promise.race([once(socket, 'listening'), once(socket, 'error').then(([e]) => Promise.reject(e))]);
  return socket;
}

/** Re-announces a configured printer's NOTIFY on the LAN, once per duplicate window. */
function relayNotify(ctx: ServiceContext, stats: DiscoveryStats, sender: Socket, lanAddress: string) {
  const lastSent = new Map<string, number>();
  const senderPort = sender.address().port;
  return (datagram: Buffer, from: { address: string; port: number }) => {
    const config = ctx.config.get();
    // Our own re-announcements come back to the wildcard listener: not the printer's, not counted.
    if (from.port === senderPort && from.address === lanAddress) return;
    stats.received++;
    const parsed = parseNotify(datagram);
    if (!parsed.ok) {
      stats.ignored[parsed.reason]++;
      return;
    }
    const { serial, headers } = parsed.notify;
    const printer = config.printers.find((p) => p.serial === serial);
    if (!printer || printer.address !== from.address) {
      stats.ignored.unknownPrinter++;
      return;
    }
    const now = Date.now();
    if (now - (lastSent.get(serial) ?? 0) < duplicateWindowMs) {
      stats.ignored.duplicate++;
      return;
    }
    lastSent.set(serial, now);
    const announcement = formatNotify(withHeader(headers, 'Location', ctx.lanAddress()));
    const { announceAddress, announcePort, multicast: toMulticast } = config.discovery;
    sender.send(announcement, announcePort, announceAddress);
    if (toMulticast) sender.send(announcement, ssdpMulticastPort, ssdpGroup);
    stats.relayed++;
    stats.lastRelayed[serial] = new Date(now).toISOString();
  };
}

/**
 * Listens on the printer segment for the printer's NOTIFY and re-announces it on the LAN with `Location`
 * set to Moat's LAN address, every other header kept. It relays only what a configured printer sends from its
 * configured address, when it sends it: the printer's own NOTIFY is the liveness signal, so a silent printer
 * is not announced, and the cadence is the printer's. The sender is bound to the LAN address, so broadcast
 * and multicast leave by the LAN interface only; the firewall's output chain also drops any NOTIFY towards
 * the printer segment.
 */
async function startDiscoveryRelay(ctx: ServiceContext): Promise<DiscoveryRelay> {
  const stats: DiscoveryStats = {
    received: 0,
    relayed: 0,
    ignored: { oversized: 0, malformed: 0, unknownPrinter: 0, duplicate: 0 },
    lastRelayed: {},
  };
  const initial = ctx.config.get();
  if (!initial.discovery.enabled) {
    return { ports: { notify: 0, multicast: 0 }, stats: () => stats, close: async () => {} };
  }
  const sockets: Socket[] = [];
  const close = async () => {
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
  try {
    // Broadcasts reach only sockets bound to the wildcard address.
    const notify = await bindSocket(initial.discovery.notifyPort, '0.0.0.0');
    sockets.push(notify);
    const multicast = await bindSocket(initial.discovery.multicastPort, '0.0.0.0');
    sockets.push(multicast);
    try {
      multicast.addMembership(ssdpGroup, initial.segment.address);
    } catch (error) {
      ctx.logger.warn(
        { segment: initial.segment.address, reason: (error as Error).message },
        'cannot join the SSDP multicast group on the printer segment; relaying broadcast NOTIFYs only',
      );
    }
    const lanAddress = ctx.lanAddress();
    const sender = await bindSocket(0, lanAddress);
    sockets.push(sender);
    sender.setBroadcast(true);
    if (initial.discovery.multicast) sender.setMulticastInterface(lanAddress);

    const onMessage = relayNotify(ctx, stats, sender, lanAddress);
    for (const socket of sockets) {
      // A send or receive error on UDP (no route, interface down) must not stop the service.
      socket.on('error', (error) => ctx.logger.warn({ reason: error.message }, 'discovery socket error'));
    }
    notify.on('message', onMessage);
    multicast.on('message', onMessage);
    ctx.logger.info(
      { notifyPort: notify.address().port, multicastPort: multicast.address().port, lanAddress },
      'discovery relay listening',
    );
    return {
      ports: { notify: notify.address().port, multicast: multicast.address().port },
      stats: () => structuredClone(stats),
      close,
    };
  } catch (error) {
    // Discovery is a convenience for slicers; a missing address or a taken port must not stop the bridges.
    await close();
    ctx.logger.error({ reason: (error as Error).message }, 'discovery relay not started');
    return { ports: { notify: 0, multicast: 0 }, stats: () => structuredClone(stats), close: async () => {} };
  }
}

export const discovery: Capability<DiscoveryRelay> = { name: 'discovery', start: startDiscoveryRelay };
