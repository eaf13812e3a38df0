import { writeFileSync } from 'node:fs';
import { loadServerIdentity } from '../certs/identity.js';
import { describeCertificate } from '../certs/x509.js';
import { loadConfig } from '../config/store.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';

export async function runShow(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat cert show [--state-dir DIR]');
  const paths = resolveStatePaths(values);
  const identity = await loadServerIdentity(paths, loadConfig(paths));
  for (const [title, pem] of [
    ['CA certificate', identity.caCertPem],
    ['Server certificate', identity.certPem],
  ] as const) {
    const c = describeCertificate(pem);
    console.log(
      `${title}\n  subject:     ${c.subject.replace(/\n/g, ', ')}\n  issuer:      ${c.issuer.replace(/\n/g, ', ')}`,
    );
    if (c.altNames.length) console.log(`  names:       ${c.altNames.join(', ')}`);
    console.log(`  valid:       ${c.validFrom.toISOString()} .. ${c.validTo.toISOString()}`);
    console.log(`  SHA-256:     ${c.fingerprint256}\n`);
  }
  console.log(`CA file: ${paths.caCert}`);
  return 0;
}

export async function runExport(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { out: { type: 'string', short: 'o' } },
    'usage: moat cert export [--out FILE] [--state-dir DIR]   (stdout when no --out)',
  );
  const paths = resolveStatePaths(values);
  const identity = await loadServerIdentity(paths, loadConfig(paths));
  if (typeof values.out === 'string') {
    writeFileSync(values.out, identity.caCertPem, { mode: 0o644 });
    console.error(`wrote Moat's CA certificate to ${values.out} (SHA-256 ${identity.caFingerprint256})`);
  } else {
    process.stdout.write(identity.caCertPem);
  }
  return 0;
}
