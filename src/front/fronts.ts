import type { Capability } from '../capability.js';
import { awaitingLease, type MoatConfig, type PrinterConfig } from '../config/schema.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import { frontConfig, frontContext } from './front-context.js';
import { type PrinterPlane, printerPlane } from './printer-plane.js';

/** One printer's front: its bridges, relays and discovery, on its own LAN address. */
export interface PrinterFront {
  /** Undefined for the one front of a Moat without printers (it answers logins with "no printer"). */
  serial: string | undefined;
  /** The address its clients reach it on (and the one in its PASV replies, NOTIFY and reports). */
  lanAddress: string;
  plane: PrinterPlane;
}

export interface PrinterFronts extends RunningService {
  /** The running fronts, in the configuration's order. */
  list(): PrinterFront[];
  get(serial: string): PrinterFront | undefined;
  /** Brings the fronts in line with a changed configuration, touching only the printers it changed. */
  follow(next: MoatConfig, previous: MoatConfig): Promise<void>;
}

const noPrinter = '';
const bridgeSections = ['printers', 'ports', 'lan', 'mqtt', 'ftp', 'relays'] as const;
const discoverySections = ['segment', 'discovery'] as const;

/**
 * The fronts a configuration asks for, by key (a serial; `noPrinter` when there is none). A printer still
 * waiting for its DHCP lease has none: nothing listens for it anywhere until its address is known.
 */
function plannedFronts(config: MoatConfig): Map<string, PrinterConfig | undefined> {
  if (config.printers.length === 0) return new Map([[noPrinter, undefined]]);
  const served = config.printers.filter((printer) => !awaitingLease(printer));
  return new Map(served.map((printer) => [printer.serial, printer]));
}

/** What a front sees of a configuration: a change elsewhere (another printer) is no change to it. */
function seenBy(config: MoatConfig, printer: PrinterConfig | undefined): MoatConfig {
  return printer ? frontConfig(config, printer) : config;
}

/** What a configuration change asks of one front: a new front, its discovery restarted, or nothing. */
function frontChange(next: MoatConfig, previous: MoatConfig, key: string): 'restart' | 'discovery' | undefined {
  const before = seenBy(previous, plannedFronts(previous).get(key));
  const after = seenBy(next, plannedFronts(next).get(key));
  const changed = (section: keyof MoatConfig) => JSON.stringify(after[section]) !== JSON.stringify(before[section]);
  if (bridgeSections.some(changed)) return 'restart';
  if (discoverySections.some(changed)) return 'discovery';
  return undefined;
}

async function startFront(ctx: ServiceContext, printer: PrinterConfig | undefined): Promise<PrinterFront> {
  const context = printer ? await frontContext(ctx, printer) : ctx;
  const plane = await printerPlane.start(context);
  return { serial: printer?.serial, lanAddress: context.lanAddress(), plane };
}

/**
 * One front per printer, each started on its own narrowed context (front-context.ts), so that a client of
 * printer A's address reaches A's bridges only, whose configuration knows no other printer. Adding, removing
 * or readdressing a printer starts or stops that printer's front alone; the others keep their connections.
 */
async function startFronts(ctx: ServiceContext): Promise<PrinterFronts> {
  const fronts = new Map<string, PrinterFront>();
  const close = async (key: string) => {
    const front = fronts.get(key);
    fronts.delete(key);
    await front?.plane.close().catch((error: unknown) => ctx.logger.error({ err: error, key }, 'error while stopping'));
  };
  const closeAll = async () => {
    for (const key of [...fronts.keys()].reverse()) await close(key);
  };
  try {
    for (const [key, printer] of plannedFronts(ctx.config.get())) fronts.set(key, await startFront(ctx, printer));
  } catch (error) {
    await closeAll();
    throw error;
  }
  return {
    list: () => [...plannedFronts(ctx.config.get()).keys()].flatMap((key) => fronts.get(key) ?? []),
    get: (serial) => fronts.get(serial),
    async follow(next, previous) {
      const planned = plannedFronts(next);
      const toStart: string[] = [];
      for (const [key] of planned) {
        const change = fronts.has(key) ? frontChange(next, previous, key) : 'restart';
        if (change === 'discovery') {
          ctx.logger.info(
            { printer: key || undefined },
            'printer-segment or discovery settings changed: restarting discovery',
          );
          await fronts.get(key)?.plane.discovery.restart();
        }
        if (change === 'restart') toStart.push(key);
      }
      // Every front that goes or changes is closed before any starts: a printer that moves to an address
      // (or from the wildcard to its own) finds it free.
      for (const key of [...fronts.keys()]) {
        if (planned.has(key) && !toStart.includes(key)) continue;
        const message = planned.has(key)
          ? 'printer settings changed: restarting the bridges'
          : 'printer removed: closing its listeners';
        ctx.logger.info({ printer: key || undefined }, message);
        await close(key);
      }
      for (const key of toStart) {
        try {
          fronts.set(key, await startFront(ctx, planned.get(key)));
        } catch (error) {
          ctx.logger.error(
            { err: error, printer: key || undefined },
            'bridges could not restart with the new settings',
          );
        }
      }
    },
    close: closeAll,
  };
}

export const printerFronts: Capability<PrinterFronts> = { name: 'printer fronts', start: startFronts };
