// Writes the state directory of the Moat that scripts/topology.sh runs in the `moat` namespace: configuration
// for the three-segment topology, the printer's access code as a secret, one LAN access code per role.
// Usage: node dist/scripts/topology-setup.js DIR SERIAL PRINTER_ACCESS_CODE PRINTER_CA_FILE
// Writes DIR/topology.json (the LAN access codes, for clients in `lan` and the tests) with mode 0600.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccessCode } from '../src/auth/access-codes.js';
import { parseConfig, type Role } from '../src/config/schema.js';
import { printerSecretName, writeSecret } from '../src/config/secrets.js';
import { statePaths } from '../src/config/state-dir.js';
import { ensureStateDir, saveConfig } from '../src/config/store.js';

const topology = {
  lanInterface: 'lan0',
  segmentInterface: 'seg0',
  upstreamInterface: 'wan0',
  moatLan: '198.51.100.1',
  moatSegment: '192.0.2.1',
  printer: '192.0.2.10',
};

async function main(args: string[]): Promise<void> {
  const [dir, serial, printerAccessCode, printerCaFile] = args;
  if (!dir || !serial || !printerAccessCode || !printerCaFile) {
    throw new Error('usage: topology-setup DIR SERIAL PRINTER_ACCESS_CODE PRINTER_CA_FILE');
  }
  const paths = statePaths(join(dir, 'moat-state'));
  ensureStateDir(paths);
  const codes = {} as Record<Role, string>;
  const accessCodes = [];
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const { entry, code } = await createAccessCode(`topology ${role}`, role);
    codes[role] = code;
    accessCodes.push(entry);
  }
  const config = parseConfig({
    lan: { interface: topology.lanInterface, addresses: [topology.moatLan] },
    segment: { interface: topology.segmentInterface, address: topology.moatSegment, prefixLength: 24 },
    firewall: { enabled: true, cloudAccess: false, upstreamInterface: topology.upstreamInterface },
    web: { claimFile: join(dir, 'moat-claim.txt') },
    accessCodes,
    printers: [
      {
        serial,
        model: 'P1S',
        name: 'Topology printer',
        address: topology.printer,
        mqtt: { transport: 'tls' },
        ftp: { transport: 'tls' },
        certificate: { policy: 'test-ca', caFile: printerCaFile },
      },
    ],
  });
  saveConfig(paths, config);
  writeSecret(paths, printerSecretName(serial), printerAccessCode);
  writeFileSync(
    join(dir, 'topology.json'),
    JSON.stringify({ stateDir: paths.root, moatCaFile: paths.caCert, printerCaFile, serial, codes }, null, 2),
    { mode: 0o600 },
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`topology-setup: ${(error as Error).message}`);
  process.exit(1);
});
