import { readFileSync } from 'node:fs';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import type { PrinterConfig } from '../config/schema.js';
import { bblCaBundlePath } from '../paths.js';
import { printerClientTlsOptions } from '../tls-profiles.js';

/**
 * The one judge of whether a TLS peer really is the configured printer: a chain to Bambu's CA bundle
 * (or the simulator's test CA) with CN = serial, or a pinned SHA-256 fingerprint. Node's own checks are
 * turned off and replaced by `judgePrinterCertificate`, which callers run before any byte carrying the
 * access code is written. The bridges log `certificateProblem`; the wizard renders its own words.
 */

export type CertificateCheck = PrinterConfig['certificate'];

/** What the TLS handshake showed, detached from the socket so the judge can be tested on its own. */
export interface PeerView {
  authorized: boolean;
  authorizationError?: string;
  /** Undefined when the peer presented no certificate. */
  fingerprint?: string;
  commonName?: string | string[];
  issuer?: string;
}

export type CertificateJudgement =
  | { trusted: true; by: 'pin' | 'chain' }
  | { trusted: false; problem: 'no-certificate' | 'fingerprint-mismatch' | 'untrusted-chain' | 'wrong-serial' };

/** Printers have no SAN and are reached by address; the serial check replaces Node's host-name check. */
export function printerTlsOptions(printer: { certificate: CertificateCheck }): ConnectionOptions {
  const { policy, caFile } = printer.certificate;
  return {
    ...printerClientTlsOptions(),
    ...(policy === 'bbl-ca' && { ca: readFileSync(bblCaBundlePath) }),
    ...(policy === 'test-ca' && caFile !== undefined && { ca: readFileSync(caFile) }),
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  };
}

export function peerView(socket: TLSSocket): PeerView {
  const cert: Partial<PeerCertificate> = socket.getPeerCertificate() ?? {};
  const hasCert = cert.raw !== undefined && cert.raw.length > 0;
  return {
    authorized: socket.authorized,
    ...(socket.authorizationError !== undefined && { authorizationError: String(socket.authorizationError) }),
    ...(hasCert && { fingerprint: cert.fingerprint256 }),
    ...(cert.subject?.CN !== undefined && { commonName: cert.subject.CN }),
    ...(cert.issuer?.CN !== undefined && { issuer: firstValue(cert.issuer.CN) }),
  };
}

export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function judgePrinterCertificate(peer: PeerView, serial: string, check: CertificateCheck): CertificateJudgement {
  if (peer.fingerprint === undefined) return { trusted: false, problem: 'no-certificate' };
  if (check.policy === 'pinned') {
    return check.fingerprint !== undefined && peer.fingerprint === check.fingerprint
      ? { trusted: true, by: 'pin' }
      : { trusted: false, problem: 'fingerprint-mismatch' };
  }
  if (!peer.authorized) return { trusted: false, problem: 'untrusted-chain' };
  // A certificate with several CNs is not a printer's: only a single CN equal to the serial passes.
  if (peer.commonName !== serial) return { trusted: false, problem: 'wrong-serial' };
  return { trusted: true, by: 'chain' };
}

/** The judgement as the bridges log it; undefined when the certificate is trusted. */
export function certificateProblem(
  socket: TLSSocket,
  printer: { serial: string; certificate: CertificateCheck },
): string | undefined {
  const peer = peerView(socket);
  const judgement = judgePrinterCertificate(peer, printer.serial, printer.certificate);
  return judgement.trusted ? undefined : logReason(judgement.problem, peer, printer);
}

export function logReason(
  problem: Extract<CertificateJudgement, { trusted: false }>['problem'],
  peer: PeerView,
  printer: { serial: string; certificate: CertificateCheck },
): string {
  const { policy, fingerprint, caFile } = printer.certificate;
  switch (problem) {
    case 'no-certificate':
      return 'the printer presented no certificate';
    case 'fingerprint-mismatch':
      return `certificate fingerprint ${peer.fingerprint} does not match the pinned ${fingerprint}`;
    case 'untrusted-chain': {
      const anchor = policy === 'bbl-ca' ? 'the BBL CA bundle' : `the test CA ${caFile}`;
      return `certificate does not chain to ${anchor} (${peer.authorizationError})`;
    }
    case 'wrong-serial':
      return `certificate CN "${String(peer.commonName)}" is not the printer serial ${printer.serial}`;
  }
}
