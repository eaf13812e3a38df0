// Plans the printers of the topology that scripts/topology.sh builds and writes the state directory of the
// Moat it runs in the `moat` namespace: configuration for the three-segment topology, each printer's access
// code as a secret, one LAN access code per role.
// Usage: node dist/scripts/topology-setup.js DIR COUNT SERIAL
//   COUNT printers (1-8) of mixed models on 192.0.2.10.., the first with SERIAL. One printer is served on
//   Moat's own LAN address, as before; several each get their own, 198.51.100.21...
// Writes DIR/printers.txt (one line per printer for topology.sh: serial, model, segment address, Moat's LAN
// address for it or "-", its access code, CA file, storage directory, log file) and DIR/topology.json (the LAN
// access codes and the printers, for clients in `lan` and the tests), both with mode 0600.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccessCode, generateAccessCode } from '../src/auth/access-codes.js';
import { parseConfig, type Role } from '../src/config/schema.js';
import { printerSecretName, writeSecret } from '../src/config/secrets.js';
import { statePaths } from '../src/config/state-dir.js';
import { ensureStateDir, saveConfig } from '../src/config/store.js';
import { mixedPrinterModel } from '../src/printer-models.js';

const topology = {
  lanInterface: 'lan0',
  segmentInterface: 'seg0',
  upstreamInterface: 'wan0',
  moatLan: '198.51.100.1',
  moatSegment: '192.0.2.1',
};

interface TopologyPrinter {
  serial: string;
  model: string;
  address: string;
  lanAddress: string | undefined;
  accessCode: string;
  caFile: string;
  storage: string;
  log: string;
}

/** Printer i (from 0): the first keeps the file names a lone printer always had. */
function planPrinter(dir: string, count: number, firstSerial: string, i: number): TopologyPrinter {
  const suffix = i === 0 ? '' : `-${i + 1}`;
  return {
    serial: i === 0 ? firstSerial : `01S00C0000001${String(i + 1).padStart(2, '0')}`,
    model: mixedPrinterModel(i),
    address: `192.0.2.${10 + i}`,
    lanAddress: count === 1 ? undefined : `198.51.100.${21 + i}`,
    accessCode: generateAccessCode(),
    caFile: join(dir, `printer-ca${suffix}.pem`),
    storage: join(dir, `printer-storage${suffix}`),
    log: join(dir, `printer${suffix}.log`),
  };
}

async function main(args: string[]): Promise<void> {
  const [dir, countText, serial] = args;
  const count = Number(countText);
  if (!dir || !serial || !Number.isInteger(count) || count < 1 || count > 8) {
    throw new Error('usage: topology-setup DIR COUNT SERIAL (COUNT from 1 to 8)');
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
  const printers = Array.from({ length: count }, (_, i) => planPrinter(dir, count, serial, i));
  const config = parseConfig({
    lan: { interface: topology.lanInterface, addresses: [topology.moatLan] },
    segment: { interface: topology.segmentInterface, address: topology.moatSegment, prefixLength: 24 },
    firewall: { enabled: true, cloudAccess: false, upstreamInterface: topology.upstreamInterface },
    web: { claimFile: join(dir, 'moat-claim.txt') },
    accessCodes,
    printers: printers.map((p, i) => ({
      serial: p.serial,
      model: p.model,
      name: count === 1 ? 'Topology printer' : `Topology printer ${i + 1}`,
      address: p.address,
      ...(p.lanAddress !== undefined && { lanAddress: p.lanAddress }),
      mqtt: { transport: 'tls' },
      ftp: { transport: 'tls' },
      certificate: { policy: 'test-ca', caFile: p.caFile },
    })),
  });
  saveConfig(paths, config);
  for (const p of printers) writeSecret(paths, printerSecretName(p.serial), p.accessCode);
  const lines = printers.map((p) =>
    [p.serial, p.model, p.address, p.lanAddress ?? '-', p.accessCode, p.caFile, p.storage, p.log].join(' '),
  );
  writeFileSync(join(dir, 'printers.txt'), `${lines.join('\n')}\n`, { mode: 0o600 });
  const first = printers[0] as TopologyPrinter;
  writeFileSync(
    join(dir, 'topology.json'),
    JSON.stringify(
      {
        stateDir: paths.root,
        moatCaFile: paths.caCert,
        printerCaFile: first.caFile,
        serial: first.serial,
        codes,
        printers: printers.map(({ serial, model, address, lanAddress, caFile, storage }) => ({
          serial,
          model,
          address,
          lanAddress: lanAddress ?? topology.moatLan,
          caFile,
          storage,
        })),
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`topology-setup: ${(error as Error).message}`);
  process.exit(1);
});
