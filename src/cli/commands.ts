/**
 * Every CLI command, one module each, loaded only when run so `moat --version` stays instant.
 * A command module exports `run(args: string[]): Promise<number | undefined>`.
 */
export type CommandRunner = (args: string[]) => Promise<number | undefined>;

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandRunner>;
}

export const commands: CommandEntry[] = [
  {
    name: 'init',
    summary: 'first boot: state directory, CA and server certificate, claim code (idempotent)',
    load: async () => (await import('./init.js')).run,
  },
  {
    name: 'serve',
    summary: 'run the service (bridges, firewall, setup page) until stopped',
    load: async () => (await import('./serve.js')).run,
  },
  {
    name: 'demo',
    summary: 'run a simulated printer and Moat on loopback; writes DIR/demo.json (--dir DIR, default .moat-demo)',
    load: async () => (await import('./demo.js')).run,
  },
  {
    name: 'simulate-printer',
    summary: 'run a simulated Bambu printer (MQTT, FTP, NOTIFY, stats) until stopped',
    load: async () => (await import('./simulate-printer.js')).run,
  },
  {
    name: 'cert show',
    summary: "show Moat's CA and server certificate with SHA-256 fingerprints",
    load: async () => (await import('./cert.js')).runShow,
  },
  {
    name: 'cert export',
    summary: "write Moat's CA certificate (PEM) to a file or stdout, for printer.cer / Home Assistant",
    load: async () => (await import('./cert.js')).runExport,
  },
  {
    name: 'config show',
    summary: 'print the configuration (without secrets or hashes)',
    load: async () => (await import('./config.js')).runShow,
  },
  {
    name: 'config check',
    summary: 'validate a configuration file; names the bad field',
    load: async () => (await import('./config.js')).runCheck,
  },
  {
    name: 'access-code add',
    summary: 'create a LAN access code: --label NAME --role viewer|operator|admin (shown once)',
    load: async () => (await import('./access-code.js')).runAdd,
  },
  {
    name: 'access-code list',
    summary: 'list LAN access codes (labels and roles, never the codes)',
    load: async () => (await import('./access-code.js')).runList,
  },
  {
    name: 'access-code revoke',
    summary: 'revoke a LAN access code by id or label',
    load: async () => (await import('./access-code.js')).runRevoke,
  },
  {
    name: 'firewall render',
    summary: "print Moat's nftables table as rendered from the configuration",
    load: async () => (await import('./firewall.js')).runRender,
  },
  {
    name: 'firewall apply',
    summary: 'apply the table atomically (nft -f), set forwarding, verify it by reading it back',
    load: async () => (await import('./firewall.js')).runApply,
  },
  {
    name: 'firewall check',
    summary: 'compare the live table with the configuration; exit 1 and name each difference',
    load: async () => (await import('./firewall.js')).runCheck,
  },
  {
    name: 'firewall remove',
    summary: "delete Moat's table and turn forwarding off",
    load: async () => (await import('./firewall.js')).runRemove,
  },
  {
    name: 'appliance render',
    summary: 'write the host files generated from the settings (access point, DHCP/DNS, mDNS, sysctl) below --out DIR',
    load: async () => (await import('./appliance.js')).runRender,
  },
  {
    name: 'health',
    summary: 'check that the running service answers on HTTPS with its certificate (--wait SECONDS to poll)',
    load: async () => (await import('./health.js')).run,
  },
  {
    name: 'update install',
    summary: 'check a signed update bundle (file or http(s) URL) and install it into the other system slot',
    load: async () => (await import('./update.js')).runInstall,
  },
  {
    name: 'update status',
    summary: 'the system slots: which runs, which boots next, the version in each (--json)',
    load: async () => (await import('./update.js')).runStatus,
  },
  {
    name: 'reset',
    summary: 'factory reset: wipe configuration, keys, secrets and logs (--yes to confirm)',
    load: async () => (await import('./reset.js')).run,
  },
];
