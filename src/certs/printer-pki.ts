import { createCertificateAuthority, issueServerCertificate, type KeyAndCert } from './x509.js';

/**
 * A stand-in for Bambu's printer PKI: a test CA and a leaf whose CN is the serial and which has no SAN,
 * exactly the shape of a real printer's certificate. Used by the simulator and by tests.
 */
export interface PrinterPki {
  ca: KeyAndCert;
  leaf: KeyAndCert;
}

export async function createPrinterPki(serial: string, caName = 'Simulated BBL Device CA'): Promise<PrinterPki> {
  const ca = await createCertificateAuthority({ commonName: caName, organization: 'Moat test', validDays: 365 });
  const leaf = await issueServerCertificate(ca, { commonName: serial, altNames: [], validDays: 365 });
  return { ca, leaf };
}
