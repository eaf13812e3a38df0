import { join } from 'node:path';

/** Where everything Moat keeps lives, below one state directory (default /var/lib/moat). */
export interface StatePaths {
  root: string;
  config: string;
  /** 0700 directory of 0600 secret files. */
  secrets: string;
  tls: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  auditLog: string;
  logs: string;
  /** Store-and-forward uploads on their way to the printers (on the data partition on the appliance). */
  spool: string;
}

export const defaultStateDir = '/var/lib/moat';

export function statePaths(root: string = process.env.MOAT_STATE_DIR ?? defaultStateDir): StatePaths {
  const tls = join(root, 'tls');
  return {
    root,
    config: join(root, 'config.json'),
    secrets: join(root, 'secrets'),
    tls,
    caCert: join(tls, 'ca.crt'),
    caKey: join(tls, 'ca.key'),
    serverCert: join(tls, 'server.crt'),
    serverKey: join(tls, 'server.key'),
    auditLog: join(root, 'audit.log'),
    logs: join(root, 'logs'),
    spool: join(root, 'spool'),
  };
}
