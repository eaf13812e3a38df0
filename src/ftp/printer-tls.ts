import { readFileSync } from 'node:fs';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { PrinterConfig } from '../config/schema.js';
import { bblCaBundlePath } from '../paths.js';
import { printerClientTlsOptions } from '../tls-profiles.js';

/**
 * How Moat trusts a printer's TLS certificate, per the printer's `certificate.policy`:
 * - `bbl-ca`: chain to Bambu's CA bundle, and the leaf's CN must be the printer's serial (printers have no SAN);
 * - `test-ca`: the same against a CA file (the simulator's);
 * - `pinned`: the leaf's SHA-256 fingerprint must equal the configured one; the chain is not consulted
 *   (a pinned certificate needs no CA), so the caller checks `pinnedFingerprint` before sending anything.
 */
export interface PrinterTrust {
  options: ConnectionOptions;
  /** When set, verify with `checkPinnedCertificate` before logging in. */
  pinnedFingerprint?: string;
}

export function printerTrust(printer: PrinterConfig): PrinterTrust {
  const base = printerClientTlsOptions();
  const { policy } = printer.certificate;
  if (policy === 'pinned') {
    return {
      options: { ...base, rejectUnauthorized: false },
      pinnedFingerprint: printer.certificate.fingerprint ?? '',
    };
  }
  const caFile = policy === 'test-ca' ? (printer.certificate.caFile ?? '') : bblCaBundlePath;
  return {
    options: {
      ...base,
      ca: readFileSync(caFile, 'utf8'),
      rejectUnauthorized: true,
      checkServerIdentity: (_host: string, cert: PeerCertificate) =>
        cert.subject?.CN === printer.serial
          ? undefined
          : new Error(`printer certificate CN is ${JSON.stringify(cert.subject?.CN)}, expected ${printer.serial}`),
    },
  };
}

export function checkPinnedCertificate(cert: PeerCertificate | undefined, fingerprint: string): void {
  if (!cert?.fingerprint256 || cert.fingerprint256.toUpperCase() !== fingerprint.toUpperCase())
    throw new Error('printer certificate does not match the pinned fingerprint');
}
