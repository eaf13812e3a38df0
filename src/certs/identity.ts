import type { MoatConfig } from '../config/schema.js';
import type { StatePaths } from '../config/state-dir.js';
import { lanAddresses } from '../net/lan-addresses.js';
import { ensureServerIdentity, type ServerIdentity } from './store.js';

/**
 * The server identity the configuration asks for. Bambu clients check the CN against the printer's
 * serial, so with one printer the CN is its serial; otherwise the hostname. Every configured serial is also a
 * DNS name, for the slicers' host-name check. Issued at start: a printer added later is in the certificate
 * only after the next start.
 */
export function loadServerIdentity(paths: StatePaths, config: MoatConfig): Promise<ServerIdentity> {
  const onlyPrinter = config.printers.length === 1 ? config.printers[0] : undefined;
  return ensureServerIdentity(paths, {
    commonName: onlyPrinter?.serial ?? config.hostname,
    hostname: config.hostname,
    printerSerials: config.printers.map((printer) => printer.serial),
    lanAddresses: lanAddresses(config),
  });
}
