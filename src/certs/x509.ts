import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/**
 * Certificate creation, in-process: node:crypto makes and holds the keys (WebCrypto), @peculiar/x509
 * encodes the certificates. No openssl binary is run.
 */

let encoder: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 with its dependencies costs about 10 MB of resident memory, and Moat needs it only when it
 * makes a certificate (first start, a new address or printer, renewal): loaded then, not at every start.
 */
function loadX509(): Promise<typeof X509> {
  encoder ??= (async () => {
    // It resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return encoder;
}

const rsaAlgorithm = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  commonName: string;
  /** DNS names and IP addresses; an empty list gives a certificate without SAN, as printers have. */
  altNames?: string[];
  validDays: number;
  /** Organisation in the subject, to tell Moat's certificates apart. */
  organization?: string;
}

function subjectName(commonName: string, organization?: string): string {
  const escapeDn = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
  return organization ? `CN=${escapeDn(commonName)}, O=${escapeDn(organization)}` : `CN=${escapeDn(commonName)}`;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(rsaAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, { name: rsaAlgorithm.name, hash: rsaAlgorithm.hash }, false, [
    'sign',
  ]);
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  // Backdated an hour so a device whose clock is slightly behind still accepts a fresh certificate.
  const notBefore = new Date(Date.now() - 3600_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86400_000) };
}

export async function createCertificateAuthority(options: IssueOptions): Promise<KeyAndCert> {
  const x509 = await loadX509();
  const keys = await generateKeys();
  const name = subjectName(options.commonName, options.organization);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    ...validity(options.validDays),
    serialNumber: randomSerial(),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

async function publicKeyOf(keyPem: string): Promise<CryptoKey> {
  const spki = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', spki, { name: rsaAlgorithm.name, hash: rsaAlgorithm.hash }, true, [
    'verify',
  ]);
}

/** A server certificate signed by `ca`, for a new key or, given `keyPem`, for that existing key. */
export async function issueServerCertificate(
  ca: KeyAndCert,
  options: IssueOptions,
  keyPem?: string,
): Promise<KeyAndCert> {
  const x509 = await loadX509();
  const generated = keyPem === undefined ? await generateKeys() : undefined;
  const publicKey = generated?.publicKey ?? (await publicKeyOf(keyPem as string));
  const caCert = new x509.X509Certificate(ca.certPem);
  const altNames = options.altNames ?? [];
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (altNames.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        altNames.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })),
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    subject: subjectName(options.commonName, options.organization),
    issuer: caCert.subject,
    publicKey,
    signingKey: await importKeyPem(ca.keyPem),
    ...validity(options.validDays),
    serialNumber: randomSerial(),
    extensions,
  });
  return {
    certPem: cert.toString('pem'),
    keyPem: generated ? await exportKeyPem(generated.privateKey) : (keyPem as string),
  };
}

function randomSerial(): string {
  // Positive 16-byte serial: clear the top bit so DER does not read it as negative.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] as number) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/** SHA-256 over the DER certificate, as upper-case colon-separated hex (what browsers and openssl show). */
export function sha256Fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export function fingerprintOfDer(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/.{2}/g)?.join(':') ?? '';
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  commonName: string;
  altNames: string[];
  validFrom: Date;
  validTo: Date;
  fingerprint256: string;
}

export function describeCertificate(certPem: string): CertificateSummary {
  const cert = new X509Certificate(certPem);
  const commonName = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
  const altNames = (cert.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''));
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    commonName,
    altNames,
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
  };
}
