import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.js';
import type { MoatConfig } from '../config/schema.js';
import { accessPointConnectionId, renderAccessPointKeyfile, renderWifiCountry } from './access-point.js';
import { renderAvahiService } from './avahi.js';
import { renderDnsmasqConfig } from './dnsmasq.js';
import { printerConnectionId, printerConnectionPrefix, renderPrinterKeyfile } from './printer-addresses.js';
import { renderSysctl } from './sysctl.js';

/** One file of the host configuration: its absolute path on the appliance, mode and content. */
export interface HostFile {
  path: string;
  mode: number;
  content: string;
}

/**
 * Every host file generated from Moat's configuration. Rendering validates everything first, so a bad
 * setting throws before any file is written and the running configuration stays as it was.
 */
const connectionsDir = '/etc/NetworkManager/system-connections';

export function renderHostFiles(config: MoatConfig, segmentPassphrase: string): HostFile[] {
  const printerConnections = config.printers.flatMap((printer, i) => {
    const content = renderPrinterKeyfile(config, i);
    if (content === undefined) return [];
    return [{ path: `${connectionsDir}/${printerConnectionId(printer.serial)}.nmconnection`, mode: 0o600, content }];
  });
  return [
    {
      // NetworkManager ignores keyfiles not owned by root with mode 0600; it also holds the passphrase.
      path: `${connectionsDir}/${accessPointConnectionId}.nmconnection`,
      mode: 0o600,
      content: renderAccessPointKeyfile(config.segment, segmentPassphrase),
    },
    { path: '/etc/modprobe.d/moat-wifi.conf', mode: 0o644, content: renderWifiCountry(config.segment) },
    { path: '/etc/dnsmasq.d/moat-segment.conf', mode: 0o644, content: renderDnsmasqConfig(config) },
    { path: '/etc/avahi/services/moat.service', mode: 0o644, content: renderAvahiService(config) },
    { path: '/etc/sysctl.d/60-moat.conf', mode: 0o644, content: renderSysctl(config) },
    ...printerConnections,
  ];
}

/**
 * Removes the printer connections below `root` that this render did not produce (printers removed or
 * readdressed away), so NetworkManager's reload drops their addresses. Only Moat's prefixed files are touched.
 */
export function removeStaleHostFiles(root: string, files: HostFile[]): string[] {
  const dir = join(root, connectionsDir);
  const kept = new Set(files.map((file) => join(root, file.path)));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no connections directory: nothing rendered there before
  }
  return names
    .filter((name) => name.startsWith(printerConnectionPrefix) && name.endsWith('.nmconnection'))
    .map((name) => join(dir, name))
    .filter((path) => !kept.has(path))
    .map((path) => {
      rmSync(path, { force: true });
      return path;
    });
}

/** Writes the files below `root` (`/` on the appliance, a scratch directory elsewhere), each atomically. */
export function writeHostFiles(root: string, files: HostFile[]): string[] {
  return files.map((file) => {
    const target = join(root, file.path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileAtomic(target, file.content, file.mode);
    chmodSync(target, file.mode); // the umask must not loosen or tighten what the reader expects
    return target;
  });
}
