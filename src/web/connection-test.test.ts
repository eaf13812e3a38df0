import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import type { CertificateCheck } from '../certs/printer-certificate.js';
import { createPrinterPki, type PrinterPki } from '../certs/printer-pki.js';
import { printerClientTlsOptions, printerLikeServerTlsOptions } from '../tls-profiles.js';
import { judgeCertificate, testPrinterConnection } from './connection-test.js';

/** Certificate verdicts over real TLS connections to a printer-like server with a printer PKI. */

const serial = '01P00A000000007';
const dir = mkdtempSync(join(tmpdir(), 'moat-conn-'));
let pki: PrinterPki;
let server: Server;
let port: number;

before(async () => {
  pki = await createPrinterPki(serial);
  writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
  // Greets like an FTP server (the MQTT side never gets as far as speaking when the certificate is refused).
  server = createServer(printerLikeServerTlsOptions(pki.leaf), (socket) => {
    socket.on('error', () => {});
    socket.write('220 ready\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function verdictFor(check: CertificateCheck, expectedSerial = serial, ca?: string) {
  return new Promise<ReturnType<typeof judgeCertificate>>((resolve, reject) => {
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port,
      ...printerClientTlsOptions(),
      ...(ca && { ca }),
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    socket.once('secureConnect', () => {
      resolve(judgeCertificate(socket, expectedSerial, check));
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

test('a certificate from the expected CA with CN = serial is trusted; another serial is not', async () => {
  const good = await verdictFor({ policy: 'test-ca' }, serial, pki.ca.certPem);
  assert.equal(good.trusted, true, good.detail);
  assert.equal(good.commonName, serial);
  const other = await verdictFor({ policy: 'test-ca' }, '01P00A999999999', pki.ca.certPem);
  assert.equal(other.trusted, false);
  assert.match(other.detail, /belongs to printer 01P00A000000007/);
});

test('a certificate not from Bambu is not trusted under bbl-ca; pinning its fingerprint trusts exactly it', async () => {
  const bambu = await verdictFor({ policy: 'bbl-ca' });
  assert.equal(bambu.trusted, false);
  assert.match(bambu.detail, /not signed by Bambu Lab/);
  assert.match(bambu.fingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const pinned = await verdictFor({ policy: 'pinned', fingerprint: bambu.fingerprint as string });
  assert.equal(pinned.trusted, true);
  const wrongPin = await verdictFor({ policy: 'pinned', fingerprint: `00${(bambu.fingerprint as string).slice(2)}` });
  assert.equal(wrongPin.trusted, false);
});

test('an untrusted certificate means the access code is never sent', async () => {
  const result = await testPrinterConnection({
    address: '127.0.0.1',
    serial,
    accessCode: 'secret12',
    mqttPort: port,
    ftpPort: port,
    certificate: { policy: 'bbl-ca' },
    timeoutMs: 5000,
  });
  assert.equal(result.certificate.trusted, false);
  assert.equal(result.mqtt.ok, false);
  assert.match(result.mqtt.detail, /code was not sent/);
  assert.equal(result.ftp.ok, false);
  assert.match(result.ftp.detail, /Not tried/);
});

test('nothing listening is explained, not thrown', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const freePort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const result = await testPrinterConnection({
    address: '127.0.0.1',
    serial,
    accessCode: 'secret12',
    mqttPort: freePort,
    ftpPort: freePort,
    certificate: { policy: 'bbl-ca' },
    timeoutMs: 3000,
  });
  assert.match(result.mqtt.detail, /Nothing answers on the MQTT port/);
  assert.match(result.ftp.detail, /Nothing answers on the FTPS port/);
});
