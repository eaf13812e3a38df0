import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { printerLinkName } from '../appliance/printer-addresses.js';
import type { RunningService, ServiceContext } from '../service-context.js';

/** The host's interfaces as `os.networkInterfaces()` gives them (a stand-in table in tests). */
export type InterfaceTable = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface PrinterLeases extends RunningService {
  /** Compares each DHCP printer's lease with its configured address once, now. */
  check(): void;
}

export interface PrinterLeaseOptions {
  interfaces?: InterfaceTable;
  intervalMs?: number;
}

/**
 * How often the leases are read. A lease changes rarely (a new router, a reservation changed, a lease
 * expired while Moat was off); reading the interface table is one getifaddrs call, and Node has no event for
 * an address change without a netlink dependency or an `ip monitor` child, so a modest poll it is.
 */
const defaultIntervalMs = 10_000;

/** The IPv4 address a printer's macvlan holds now; undefined while it has no lease (or does not exist). */
export function leasedAddress(table: ReturnType<InterfaceTable>, link: string): string | undefined {
  return table[link]?.find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;
}

/**
 * Follows the lease of each DHCP printer's macvlan (the link named in its keyfile, printer-addresses.ts) and,
 * when it differs from the printer's `lanAddress`, stores the lease as its `lanAddress` through the
 * configuration, as the wizard's readdress does: its front moves there with a certificate for that address,
 * the firewall is re-rendered, the other printers keep their connections. A lease that is lost is not
 * forgotten: the printer stays on its last address until another lease comes (a renewal gives the same one).
 */
export function followPrinterLeases(ctx: ServiceContext, options: PrinterLeaseOptions = {}): PrinterLeases {
  const interfaces = options.interfaces ?? networkInterfaces;
  // A lease the configuration refuses (Moat's own address, another printer's) is logged once, not every poll.
  const refused = new Set<string>();
  const check = () => {
    const table = interfaces();
    for (const printer of ctx.config.get().printers) {
      if (printer.lanAddressing.method !== 'dhcp') continue;
      const link = printerLinkName(printer.serial);
      const leased = leasedAddress(table, link);
      if (leased === undefined || leased === printer.lanAddress) continue;
      const fields = { printer: printer.serial, link, lanAddress: leased, previous: printer.lanAddress };
      const lease = `${printer.serial} ${leased}`;
      try {
        ctx.config.update((config) => ({
          ...config,
          printers: config.printers.map((p) => (p.serial === printer.serial ? { ...p, lanAddress: leased } : p)),
        }));
        refused.delete(lease);
        ctx.logger.info(fields, 'printer DHCP lease learned: serving the printer on its leased address');
      } catch (error) {
        if (refused.has(lease)) continue;
        refused.add(lease);
        ctx.logger.error({ ...fields, err: error }, 'printer DHCP lease not taken: the printer stays where it was');
      }
    }
  };
  check();
  const timer = setInterval(check, options.intervalMs ?? defaultIntervalMs);
  timer.unref();
  return { check, close: async () => clearInterval(timer) };
}
