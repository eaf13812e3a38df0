import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { statePaths } from '../config/state-dir.js';
import { ensureServerIdentity } from './store.js';
import { describeCertificate } from './x509.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-certs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const wanted = {
  commonName: '01S00C000000001',
  hostname: 'moat',
  printerSerials: ['01S00C000000001'],
  lanAddresses: ['198.51.100.1'],
};

test('first start creates a CA and a server certificate that openssl verifies against it', async () => {
  const paths = statePaths(join(dir, 'a'));
  const identity = await ensureServerIdentity(paths, wanted);
  const server = describeCertificate(identity.certPem);
  assert.equal(server.commonName, '01S00C000000001');
  assert.deepEqual(server.altNames.sort(), ['01S00C000000001', '198.51.100.1', 'moat', 'moat.local'].sort());
  assert.equal(statSync(paths.caKey).mode & 0o777, 0o600);
  assert.equal(statSync(paths.serverKey).mode & 0o777, 0o600);
  const out = execFileSync('openssl', ['verify', '-CAfile', paths.caCert, paths.serverCert], { encoding: 'utf8' });
  assert.match(out, /: OK/);
  const text = execFileSync('openssl', ['x509', '-in', paths.serverCert, '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /RSA Public-Key: \(2048 bit\)|Public-Key: \(2048 bit\)/);
  assert.match(text, /TLS Web Server Authentication/);
  const fp = execFileSync('openssl', ['x509', '-in', paths.caCert, '-noout', '-fingerprint', '-sha256'], {
    encoding: 'utf8',
  });
  assert.equal(fp.trim().split('=')[1], identity.caFingerprint256);
});

test('a restart reuses the CA and the server certificate', async () => {
  const paths = statePaths(join(dir, 'b'));
  const first = await ensureServerIdentity(paths, wanted);
  const second = await ensureServerIdentity(paths, wanted);
  assert.equal(second.caCertPem, first.caCertPem);
  assert.equal(second.certPem, first.certPem);
});

test('a new LAN address re-issues the server certificate under the same CA', async () => {
  const paths = statePaths(join(dir, 'c'));
  const first = await ensureServerIdentity(paths, wanted);
  const second = await ensureServerIdentity(paths, { ...wanted, lanAddresses: ['198.51.100.1', '198.51.100.2'] });
  assert.equal(second.caCertPem, first.caCertPem);
  assert.notEqual(second.certPem, first.certPem);
  assert.ok(describeCertificate(second.certPem).altNames.includes('198.51.100.2'));
  // Same key: a client that pinned it (a browser trusting the key's SPKI) keeps trusting the new certificate.
  assert.equal(second.keyPem, first.keyPem);
  const publicKey = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' });
  assert.equal(publicKey(second.certPem), publicKey(first.certPem));
});

test('a printer serial configured at start is added to the names: the certificate is re-issued', async () => {
  const paths = statePaths(join(dir, 'e'));
  const first = await ensureServerIdentity(paths, { ...wanted, printerSerials: [] });
  assert.ok(!describeCertificate(first.certPem).altNames.includes('01S00C000000001'));
  const second = await ensureServerIdentity(paths, {
    ...wanted,
    printerSerials: ['01S00C000000001', '01P00A000000002'],
  });
  assert.notEqual(second.certPem, first.certPem);
  const names = describeCertificate(second.certPem).altNames;
  assert.ok(names.includes('01S00C000000001') && names.includes('01P00A000000002'), names.join(', '));
});

test('a server certificate near expiry is renewed', async () => {
  const paths = statePaths(join(dir, 'd'));
  const first = await ensureServerIdentity(paths, wanted);
  // Replace the server certificate by one that expires in 10 days, signed by the same CA with openssl.
  const csr = join(dir, 'd.csr');
  execFileSync('openssl', ['req', '-new', '-key', paths.serverKey, '-subj', '/CN=01S00C000000001', '-out', csr]);
  const ext = join(dir, 'd.ext');
  writeFileSync(ext, 'subjectAltName=DNS:moat,DNS:moat.local,DNS:01S00C000000001,IP:198.51.100.1\n');
  execFileSync('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    paths.caCert,
    '-CAkey',
    paths.caKey,
    '-CAcreateserial',
    '-days',
    '10',
    '-extfile',
    ext,
    '-out',
    paths.serverCert,
  ]);
  const shortLived = readFileSync(paths.serverCert, 'utf8');
  const renewed = await ensureServerIdentity(paths, wanted);
  assert.notEqual(renewed.certPem, shortLived);
  assert.notEqual(renewed.certPem, first.certPem);
  assert.notEqual(renewed.keyPem, first.keyPem, 'a renewal brings a new key');
  assert.ok(describeCertificate(renewed.certPem).validTo.getTime() > Date.now() + 300 * 86400_000);
});
