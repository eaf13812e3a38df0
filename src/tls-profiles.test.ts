import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ConnectionOptions, connect, createServer, type Server } from 'node:tls';
import { createPrinterPki } from './certs/printer-pki.js';
import { cpuHasAes, lanServerTlsOptions } from './tls-profiles.js';

// Trimmed /proc/cpuinfo texts of the machines Moat meets.
const x86WithAes = `processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu vme de pse tsc msr pae mce sse sse2 ssse3 pclmulqdq aes xsave avx
bugs\t\t: spectre_v1
`;
const x86WithoutAes = `processor\t: 0
flags\t\t: fpu vme de pse tsc msr pae mce sse sse2 ssse3 pclmulqdq xsave avx vaes
`;
const piZero2 = `processor\t: 0
BogoMIPS\t: 38.40
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU part\t: 0xd03
`;
const arm64WithAes = `processor\t: 0
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
`;

describe('AES instructions from /proc/cpuinfo', () => {
  it('finds the aes flag on x86 and the aes feature on arm64', () => {
    assert.equal(cpuHasAes(x86WithAes), true);
    assert.equal(cpuHasAes(arm64WithAes), true);
  });

  it('finds none on a Pi Zero 2 W, nor in a flag that merely contains the letters', () => {
    assert.equal(cpuHasAes(piZero2), false);
    assert.equal(cpuHasAes(x86WithoutAes), false);
    assert.equal(cpuHasAes(''), false);
  });
});

describe('the LAN cipher chosen in a real handshake', () => {
  let identity: { certPem: string; keyPem: string };
  const servers: Server[] = [];

  before(async () => {
    identity = (await createPrinterPki('01S00C000000001')).leaf;
  });
  after(() => {
    for (const server of servers) server.close();
  });

  /** A LAN listener built as Moat builds it, and the suite a client with `client` options negotiates with it. */
  async function negotiated(aesInHardware: boolean, client: ConnectionOptions): Promise<string> {
    const server = createServer(lanServerTlsOptions(identity, aesInHardware), (socket) => socket.end());
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      rejectUnauthorized: false,
      ...client,
    });
    await once(socket, 'secureConnect');
    const cipher = socket.getCipher().standardName;
    socket.destroy();
    return cipher;
  }

  // Node's client offers AES-256-GCM, then ChaCha20, then AES-128-GCM in TLS 1.3.
  it('without AES instructions, a TLS 1.3 client that offers ChaCha20-Poly1305 gets it', async () => {
    assert.equal(await negotiated(false, {}), 'TLS_CHACHA20_POLY1305_SHA256');
  });

  it('with AES instructions, the same client gets AES-GCM', async () => {
    assert.equal(await negotiated(true, {}), 'TLS_AES_128_GCM_SHA256');
  });

  it('without AES instructions, a TLS 1.2 client that lists AES-GCM first still gets ChaCha20-Poly1305', async () => {
    const client = {
      maxVersion: 'TLSv1.2' as const,
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256',
    };
    assert.match(await negotiated(false, client), /CHACHA20_POLY1305/);
  });

  it('without AES instructions, clients that offer only AES-GCM still connect with it', async () => {
    const tls13 = { ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384' };
    assert.equal(await negotiated(false, tls13), 'TLS_AES_128_GCM_SHA256');
    // What Bambu's network plugin offers: plain-RSA AES-GCM over TLS 1.2.
    const plugin = { maxVersion: 'TLSv1.2' as const, ciphers: 'AES256-GCM-SHA384:AES128-GCM-SHA256' };
    assert.equal(await negotiated(false, plugin), 'TLS_RSA_WITH_AES_256_GCM_SHA384');
  });
});
