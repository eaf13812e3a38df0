import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  const ca = await ensureCertificateAuthority(paths, wanted.hostname);
  const files = { cert: paths.serverCert, key: paths.serverKey };
  return identityOf(ca, await ensureLeaf(ca, files, wanted.commonName, wantedAltNames(wanted)));
}

/**
 * The certificate one printer's LAN address presents: CN = its serial (Bambu clients compare them), the
 * serial as a DNS name (the slicers' host-name check) and the address as an IP name, from Moat's one CA.
 * A printer's first certificate takes the server certificate's key, so adding a printer generates no key.
 */
export async function ensurePrinterIdentity(
  paths: StatePaths,
  printer: { serial: string; lanAddress: string },
): Promise<ServerIdentity> {
  const ca = await ensureCertificateAuthority(paths, 'moat');
  const files = {
    cert: join(paths.tls, `printer-${printer.serial}.crt`),
    key: join(paths.tls, `printer-${printer.serial}.key`),
  };
  const serverKey = existsSync(paths.serverKey) ? readFileSync(paths.serverKey, 'utf8') : undefined;
  const leaf = await ensureLeaf(ca, files, printer.serial, [printer.serial, printer.lanAddress], serverKey);
  return identityOf(ca, leaf);
}

function identityOf(ca: KeyAndCert, leaf: KeyAndCert): ServerIdentity {
  return {
    caCertPem: ca.certPem,
    caFingerprint256: sha256Fingerprint(ca.certPem),
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
  };
}

/** Moat's CA, made once (named after the hostname at that time) and kept. */
async function ensureCertificateAuthority(paths: StatePaths, hostname: string): Promise<KeyAndCert> {
  ensureStateDir(paths);
  if (existsSync(paths.caCert) && existsSync(paths.caKey)) {
    return { certPem: readFileSync(paths.caCert, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') };
  }
  const ca = await createCertificateAuthority({
    commonName: `Moat CA ${hostname} ${new Date().toISOString().slice(0, 10)}`,
    organization: 'Moat',
    validDays: caValidDays,
  });
  writeFileAtomic(paths.caKey, ca.keyPem, 0o600);
  writeFileAtomic(paths.caCert, ca.certPem, 0o644);
  return ca;
}

/**
 * A certificate from the CA kept in `files`: the stored one while it fits; re-issued for the same key when
 * only its names changed (a client that pinned the key keeps trusting it, and no key is generated on the Pi);
 * renewed with a new key near expiry. `keyForNew` is the key a first certificate takes, when there is one.
 */
async function ensureLeaf(
  ca: KeyAndCert,
  files: { cert: string; key: string },
  commonName: string,
  altNames: string[],
  keyForNew?: string,
): Promise<KeyAndCert> {
  let keepKey = keyForNew;
  if (existsSync(files.cert) && existsSync(files.key)) {
    const stored = { certPem: readFileSync(files.cert, 'utf8'), keyPem: readFileSync(files.key, 'utf8') };
    const fit = serverCertificateFit(stored.certPem, ca.certPem, commonName, altNames);
    if (fit === 'fits') return stored;
    keepKey = fit === 'names' ? stored.keyPem : undefined;
  }
  const options = { commonName, altNames, validDays: serverValidDays, organization: 'Moat' };
  const leaf = await issueServerCertificate(ca, options, keepKey);
  writeFileAtomic(files.key, leaf.keyPem, 0o600);
  writeFileAtomic(files.cert, leaf.certPem, 0o644);
  return leaf;
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
