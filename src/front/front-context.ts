import { ensurePrinterIdentity } from '../certs/store.js';
import { ConfigView } from '../config/holder.js';
import type { MoatConfig, PrinterConfig } from '../config/schema.js';
import type { ServiceContext } from '../service-context.js';

/**
 * The configuration as one printer's front sees it: that printer alone, and, when it has a LAN address of
 * its own, that address as Moat's only LAN address and the one every listener binds. So the bridges, relays
 * and discovery, started on it, serve that printer on that address and know no other printer. A lone printer
 * without a LAN address keeps the configured (wildcard) listeners of older configurations.
 */
export function frontConfig(config: MoatConfig, printer: PrinterConfig): MoatConfig {
  const narrowed = { ...config, printers: [printer] };
  if (printer.lanAddress === undefined) return narrowed;
  return { ...narrowed, lan: { ...config.lan, bindAddress: printer.lanAddress, addresses: [printer.lanAddress] } };
}

/**
 * The service context of one printer's front: its narrowed configuration (read live, see ConfigView), its
 * login (access codes limited to other printers refused), its LAN address, and, with a LAN address of its
 * own, its own certificate (CN = serial, SAN = serial and address) issued by Moat's CA as the front starts.
 * Everything shared (events, throttle, audit log, logger) is the service's.
 */
export async function frontContext(ctx: ServiceContext, printer: PrinterConfig): Promise<ServiceContext> {
  const { serial, lanAddress } = printer;
  // The printer as configured now; the one the front started with if it has just been removed (closing).
  const current = (config: MoatConfig) => config.printers.find((p) => p.serial === serial) ?? printer;
  const config = new ConfigView(ctx.config, ctx.paths, (whole) => frontConfig(whole, current(whole)));
  const logger = ctx.logger.child({ printer: serial });
  const own = {
    config,
    logger,
    lanAuth: ctx.lanAuth.forPrinter(serial),
  };
  if (lanAddress === undefined) {
    return Object.create(ctx, Object.getOwnPropertyDescriptors(own)) as ServiceContext;
  }
  // A front lives for one address: a readdressed printer gets a new front, so its certificate never changes.
  const identity = await ensurePrinterIdentity(ctx.paths, { serial, lanAddress });
  return Object.create(
    ctx,
    Object.getOwnPropertyDescriptors({
      ...own,
      identity,
      followIdentity: () => {},
      lanAddress: () => lanAddress,
    }),
  ) as ServiceContext;
}
