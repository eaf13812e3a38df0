import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CertificateCheck,
  judgePrinterCertificate,
  logReason,
  type PeerView,
} from '../certs/printer-certificate.js';
import { certificateVerdict } from './connection-test.js';

/** Every branch of the one printer-certificate judge, and both renderings of each refusal. */

const serial = '01P00A000000007';
const fingerprint = `AA:${'00:'.repeat(30)}BB`;
const chained: PeerView = { authorized: true, fingerprint, commonName: serial, issuer: 'BBL CA' };
const bblCa: CertificateCheck = { policy: 'bbl-ca' };
const testCa: CertificateCheck = { policy: 'test-ca', caFile: '/etc/moat/ca.pem' };
const pinned: CertificateCheck = { policy: 'pinned', fingerprint };

function refusal(peer: PeerView, check: CertificateCheck) {
  const judgement = judgePrinterCertificate(peer, serial, check);
  assert.equal(judgement.trusted, false);
  if (judgement.trusted) throw new Error('unreachable');
  return {
    problem: judgement.problem,
    log: logReason(judgement.problem, peer, { serial, certificate: check }),
    owner: certificateVerdict(peer, serial, check),
  };
}

test('a chain to the CA with CN = serial is trusted under bbl-ca and test-ca', () => {
  assert.deepEqual(judgePrinterCertificate(chained, serial, bblCa), { trusted: true, by: 'chain' });
  assert.deepEqual(judgePrinterCertificate(chained, serial, testCa), { trusted: true, by: 'chain' });
  const verdict = certificateVerdict(chained, serial, bblCa);
  assert.equal(verdict.trusted, true);
  assert.equal(verdict.detail, `Signed by Bambu Lab for printer ${serial}.`);
  assert.equal(certificateVerdict(chained, serial, testCa).detail, `Signed by the test CA for printer ${serial}.`);
});

test('no certificate is refused under every policy', () => {
  for (const check of [bblCa, testCa, pinned]) {
    const { problem, log, owner } = refusal({ authorized: false }, check);
    assert.equal(problem, 'no-certificate');
    assert.equal(log, 'the printer presented no certificate');
    assert.equal(owner.detail, 'The printer showed no certificate.');
  }
});

test('a pinned fingerprint trusts exactly that certificate, whatever its chain or CN', () => {
  const stranger: PeerView = { authorized: false, fingerprint, commonName: 'someone else' };
  assert.deepEqual(judgePrinterCertificate(stranger, serial, pinned), { trusted: true, by: 'pin' });
  assert.equal(
    certificateVerdict(stranger, serial, pinned).detail,
    'The printer showed the certificate you chose to trust.',
  );
  const other = `CC:${fingerprint.slice(3)}`;
  const { problem, log, owner } = refusal({ ...chained, fingerprint: other }, pinned);
  assert.equal(problem, 'fingerprint-mismatch');
  assert.equal(log, `certificate fingerprint ${other} does not match the pinned ${fingerprint}`);
  assert.equal(owner.detail, 'The printer showed a different certificate than the one you trusted.');
  assert.equal(owner.fingerprint, other);
});

test('a pinned policy without a fingerprint trusts nothing', () => {
  assert.equal(refusal(chained, { policy: 'pinned' }).problem, 'fingerprint-mismatch');
});

test('a certificate that does not chain to the anchor is refused, naming the anchor', () => {
  const unsigned: PeerView = { ...chained, authorized: false, authorizationError: 'SELF_SIGNED_CERT_IN_CHAIN' };
  const bbl = refusal(unsigned, bblCa);
  assert.equal(bbl.problem, 'untrusted-chain');
  assert.equal(bbl.log, 'certificate does not chain to the BBL CA bundle (SELF_SIGNED_CERT_IN_CHAIN)');
  assert.equal(bbl.owner.detail, "The printer's certificate is not signed by Bambu Lab.");
  const test = refusal(unsigned, testCa);
  assert.equal(test.log, 'certificate does not chain to the test CA /etc/moat/ca.pem (SELF_SIGNED_CERT_IN_CHAIN)');
  assert.equal(test.owner.detail, "The printer's certificate is not signed by the test CA.");
});

test('a chained certificate for another serial, or with several CNs, is refused', () => {
  const other = refusal({ ...chained, commonName: '01P00A999999999' }, bblCa);
  assert.equal(other.problem, 'wrong-serial');
  assert.equal(other.log, `certificate CN "01P00A999999999" is not the printer serial ${serial}`);
  assert.equal(other.owner.detail, `The certificate belongs to printer 01P00A999999999, not ${serial}.`);
  assert.equal(refusal({ ...chained, commonName: [serial, 'extra'] }, testCa).problem, 'wrong-serial');
});
