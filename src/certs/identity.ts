import type { MoatConfig } from '../config/schema.js';
import type { StatePaths } from '../config/state-dir.js';
import { lanAddresses } from '../net/lan-addresses.js';
import { ensureServerIdentity, type ServerCertificateWanted, type ServerIdentity } from './store.js';

/**
 * The server certificate the configuration asks for. Bambu clients check the CN against the printer's
 * serial, so with one printer the CN is its serial; otherwise the hostname. Every configured serial is also a
 * DNS name, for the slicers' host-name check.
 */
export function wantedServerCertificate(config: MoatConfig): ServerCertificateWanted {
  const onlyPrinter = config.printers.length === 1 ? config.printers[0] : undefined;
  return {
    commonName: onlyPrinter?.serial ?? config.hostname,
    hostname: config.hostname,
    printerSerials: config.printers.map((printer) => printer.serial),
    lanAddresses: lanAddresses(config),
  };
}

/** Whether a configuration change asks for another server certificate (printers, hostname, LAN addresses). */
export function serverCertificateChanged(next: MoatConfig, previous: MoatConfig): boolean {
  return JSON.stringify(wantedServerCertificate(next)) !== JSON.stringify(wantedServerCertificate(previous));
}

/**
 * Moat's CA and a server certificate for the configuration, re-issued when it no longer fits. The running
 * service calls this again on each change that asks for it (see LiveIdentity), so no restart is needed.
 */
export function loadServerIdentity(paths: StatePaths, config: MoatConfig): Promise<ServerIdentity> {
  return ensureServerIdentity(paths, wantedServerCertificate(config));
}
