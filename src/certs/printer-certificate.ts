import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { PrinterConfig } from '../config/schema.js';
import { bblCaBundlePath } from '../paths.js';
import { printerClientTlsOptions } from '../tls-profiles.js';

/**
 * How Moat decides whether the TLS peer really is the configured printer: a chain to Bambu's CA bundle
 * (or the simulator's test CA) with CN = serial, or a pinned SHA-256 fingerprint. Node's own checks are
 * turned off here and replaced by `certificateProblem`, which runs before any MQTT byte (the printer's
 * access code) is written, and names the reason for a refusal.
 */
export function printerTlsOptions(printer: PrinterConfig): ConnectionOptions {
  const { policy, caFile } = printer.certificate;
  return {
    ...printerClientTlsOptions(),
    ...(policy === 'bbl-ca' && { ca: readFileSync(bblCaBundlePath) }),
    ...(policy === 'test-ca' && caFile !== undefined && { ca: readFileSync(caFile) }),
    rejectUnauthorized: false,
    // Printers have no SAN and are reached by address; the serial check below replaces the host-name check.
    checkServerIdentity: () => undefined,
  };
}

export function certificateProblem(socket: TLSSocket, printer: PrinterConfig): string | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert?.raw) return 'the printer presented no certificate';
  const { policy, fingerprint } = printer.certificate;
  if (policy === 'pinned') {
    return cert.fingerprint256 === fingerprint
      ? undefined
      : `certificate fingerprint ${cert.fingerprint256} does not match the pinned ${fingerprint}`;
  }
  if (!socket.authorized) {
    const anchor = policy === 'bbl-ca' ? 'the BBL CA bundle' : `the test CA ${printer.certificate.caFile}`;
    return `certificate does not chain to ${anchor} (${String(socket.authorizationError)})`;
  }
  const cn = cert.subject?.CN;
  if (cn !== printer.serial) return `certificate CN "${String(cn)}" is not the printer serial ${printer.serial}`;
  return undefined;
}
