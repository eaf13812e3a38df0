import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../config/atomic-file.js';
import type { StatePaths } from '../config/state-dir.js';
import { ensureStateDir } from '../config/store.js';
import {
  createCertificateAuthority,
  describeCertificate,
  issueServerCertificate,
  type KeyAndCert,
  sha256Fingerprint,
} from './x509.js';

export interface ServerIdentity {
  /** Moat's own CA: what LAN clients are told to trust. */
  caCertPem: string;
  caFingerprint256: string;
  /** The server certificate every LAN listener presents, and its key. */
  certPem: string;
  keyPem: string;
}

export interface ServerCertificateWanted {
  /** CN: the printer serial when Bambu clients connect (they expect CN = serial), else the hostname. */
  commonName: string;
  hostname: string;
  /**
   * The serials of the printers Moat stands in for, as DNS names: the slicers check the certificate against
   * the serial as a host name, and OpenSSL's check ignores the CN once a certificate carries any DNS name.
   */
  printerSerials: string[];
  lanAddresses: string[];
}

const caValidDays = 3650;
const serverValidDays = 397;
const renewBeforeDays = 30;

export function wantedAltNames(wanted: ServerCertificateWanted): string[] {
  return [
    ...new Set([
      wanted.hostname,
      `${wanted.hostname}.local`,
      'moat.local',
      ...wanted.printerSerials,
      ...wanted.lanAddresses,
    ]),
  ];
}

/**
 * Loads Moat's CA and server certificate, creating what is missing. The CA is made once and kept; the
 * server certificate is re-issued when it nears expiry or when its CN or names no longer match the
 * configuration (a new LAN address, a renamed device, a printer added at start).
 */
export async function ensureServerIdentity(
  paths: StatePaths,
  wanted: ServerCertificateWanted,
): Promise<ServerIdentity> {
  ensureStateDir(paths);
  let ca: KeyAndCert;
  if (existsSync(paths.caCert) && existsSync(paths.caKey)) {
    ca = { certPem: readFileSync(paths.caCert, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') };
  } else {
    ca = await createCertificateAuthority({
      commonName: `Moat CA ${wanted.hostname} ${new Date().toISOString().slice(0, 10)}`,
      organization: 'Moat',
      validDays: caValidDays,
    });
    writeFileAtomic(paths.caKey, ca.keyPem, 0o600);
    writeFileAtomic(paths.caCert, ca.certPem, 0o644);
  }
  const altNames = wantedAltNames(wanted);
  let server: KeyAndCert | undefined;
  let keepKey: string | undefined;
  if (existsSync(paths.serverCert) && existsSync(paths.serverKey)) {
    const certPem = readFileSync(paths.serverCert, 'utf8');
    const keyPem = readFileSync(paths.serverKey, 'utf8');
    const fit = serverCertificateFit(certPem, ca.certPem, wanted.commonName, altNames);
    if (fit === 'fits') server = { certPem, keyPem };
    // Only the names changed (a printer added while Moat runs): the same key gets the new certificate, so a
    // client that pinned the key keeps trusting it, and no key is generated on the Pi. Renewal brings a new key.
    else if (fit === 'names') keepKey = keyPem;
  }
  if (!server) {
    const options = { commonName: wanted.commonName, altNames, validDays: serverValidDays, organization: 'Moat' };
    server = await issueServerCertificate(ca, options, keepKey);
    writeFileAtomic(paths.serverKey, server.keyPem, 0o600);
    writeFileAtomic(paths.serverCert, server.certPem, 0o644);
  }
  return {
    caCertPem: ca.certPem,
    caFingerprint256: sha256Fingerprint(ca.certPem),
    certPem: server.certPem,
    keyPem: server.keyPem,
  };
}

/** Whether the stored certificate serves as it is, needs new names only, or must be renewed (key and all). */
function serverCertificateFit(
  certPem: string,
  caCertPem: string,
  commonName: string,
  altNames: string[],
): 'fits' | 'names' | 'renew' {
  const summary = describeCertificate(certPem);
  const ca = describeCertificate(caCertPem);
  const renewAt = summary.validTo.getTime() - renewBeforeDays * 86400_000;
  if (summary.issuer !== ca.subject || Date.now() >= renewAt) return 'renew';
  const sameNames =
    summary.commonName === commonName &&
    altNames.every((name) => summary.altNames.includes(name)) &&
    summary.altNames.length === altNames.length;
  return sameNames ? 'fits' : 'names';
}
