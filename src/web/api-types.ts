/**
 * The JSON shapes the dashboard and wizard API sends, shared by the server (src/web/*.ts) and the browser
 * code (src/web/ui, its own tsconfig includes this file). Types only and no imports, so it compiles under
 * both the Node and the DOM settings and the browser never loads anything from it. The events and status
 * shapes the bridges produce are defined here too (src/events.ts and src/status.ts take them from here):
 * they are what the dashboard receives, and one definition keeps producer and page from drifting apart.
 */

/** What an access code allows (the values are validated by `roles` in src/config/schema.ts). */
export type Role = 'viewer' | 'operator' | 'admin';

/** How far the printer may reach the internet (validated by `cloudAccessModes` in src/config/schema.ts). */
export type CloudAccess = 'off' | 'strict' | 'unrestricted';

export interface ClientEvent {
  protocol: 'mqtt' | 'ftp';
  kind: 'connected' | 'disconnected';
  clientId: string;
  label: string;
  role: Role;
  address: string;
  at: string;
}

export interface TransferEvent {
  id: string;
  serial: string;
  direction: 'upload' | 'download';
  name: string;
  bytes: number;
  /** Known for downloads (SIZE) and when the client announced it (ALLO); otherwise undefined. */
  total?: number;
  state: 'active' | 'done' | 'failed';
  /**
   * Store-and-forward uploads are two transfers: `spool` (LAN client → Moat) and `drain` (Moat → printer).
   * Absent: a transfer streamed straight through.
   */
  stage?: 'spool' | 'drain';
  startedAt: string;
  label: string;
  address: string;
  error?: string;
  /** Set for a port-6000 tunnel session: its content is TLS end to end, so bytes and time are all Moat sees. */
  durationMs?: number;
}

/**
 * `refused`: Moat's policy said no. `dropped`: allowed, but never reached the printer (see `reason`: the printer
 * connection lost it, or a held print was given up). `held`: a print waiting for its file to drain to the
 * printer; a second entry (`allowed` or `dropped`) says how it ended.
 */
export type AuditOutcome = 'allowed' | 'refused' | 'dropped' | 'held';

export interface AuditEvent {
  at: string;
  serial: string;
  label: string;
  role: Role | 'unknown';
  address: string;
  /** `print.pause`, `pushing.pushall`, ... */
  command: string;
  outcome: AuditOutcome;
  reason?: string;
  /** The printer's `result` when it answered. */
  result?: string;
}

export interface PrinterStatus {
  serial: string;
  name: string;
  model: string;
  online: boolean;
  /** The merged full state from the cache (`print` object of the report), when known. */
  state?: Record<string, unknown>;
  lastReportAt?: string;
}

/** Packets strict cloud access dropped towards one destination port. */
export interface DroppedPort {
  protocol: string;
  port: number;
  packets: number;
  bytes: number;
}

export interface FirewallStatus {
  enabled: boolean;
  applied: boolean;
  /** Differences between the rendered and the live ruleset; empty when they agree. */
  problems: string[];
  /** Drop counters by rule comment. */
  counters: Record<string, { packets: number; bytes: number }>;
  /** Strict cloud access only: what the printer tried to send outwards and was refused, by destination port. */
  droppedPorts: DroppedPort[];
  cloudAccess: CloudAccess;
}

/** A printer on the dashboard: the few state fields it shows, so a large report is not sent on every tick. */
export interface PrinterSummary extends PrinterStatus {
  state: Record<string, unknown>;
  /** Moat's own LAN address for the printer, where its clients reach it. */
  lanAddress?: string;
  /** The macvlan link of a DHCP printer whose lease Moat has not seen yet (nothing is served for it). */
  waitingForLease?: string;
}

/** What the dashboard's snapshot (GET /api/dashboard and the event stream) carries. */
export interface DashboardSnapshot {
  printers: PrinterSummary[];
  clients: ClientEvent[];
  transfers: TransferEvent[];
  firewall: FirewallStatus;
  at: string;
}

export interface SessionInfo {
  authenticated: boolean;
  claimed: boolean;
  csrfToken: string;
  idleMinutes: number;
}

export interface CertificateVerdict {
  trusted: boolean;
  /** Why, in the owner's words. */
  detail: string;
  fingerprint?: string;
  commonName?: string;
  issuer?: string;
}

export interface ServiceVerdict {
  ok: boolean;
  detail: string;
}

export interface ConnectionTestResult {
  certificate: CertificateVerdict;
  mqtt: ServiceVerdict;
  ftp: ServiceVerdict;
}

export interface FoundPrinter {
  serial: string;
  address: string;
  /** Moat's model id when the announced model is known. */
  model?: string;
  /** The printer's own name, as announced (untrusted text). */
  name: string;
  /** Wi-Fi signal as announced, e.g. "-45dBm". */
  signal?: string;
  lastSeen: string;
}

export interface SystemHealth {
  /** °C; null where the hardware does not report it (virtual machines). */
  cpuTemperature: number | null;
  /** Percent over all cores. */
  cpuLoad: number;
  memory: { used: number; total: number };
  disk: { used: number; total: number } | null;
  uptimeSeconds: number;
  at: string;
}

/** GET /api/update: the system slots as RAUC reports them, and the one update that may be under way. */
export interface UpdateSlot {
  bootname: string;
  booted: boolean;
  primary: boolean;
  bootStatus: string;
  /** Absent for a slot that still holds what the image shipped. */
  version?: string;
}

export interface UpdateBundle {
  compatible: string;
  version: string;
  signer: string;
}

export interface UpdateJob {
  state: 'idle' | 'checked' | 'installing' | 'installed' | 'failed';
  bundle?: UpdateBundle;
  percent: number;
  message: string;
}

export interface UpdateStatus {
  /** The running Moat's version. */
  running: string;
  booted?: string;
  slots?: UpdateSlot[];
  /** Why updates cannot be made here (no RAUC, not an A/B system). */
  unavailable?: string;
  job: UpdateJob;
  maxBundleBytes: number;
  /** POST /api/update/restart can restart the machine (the appliance; not a development run). */
  canRestart: boolean;
}

/** An access code as the wizard lists it: never its hash. */
export interface AccessCodeView {
  id: string;
  label: string;
  role: Role;
  createdAt: string;
}

/** A configured printer as the wizard shows it (the access code is a secret and never sent). */
export interface PrinterView {
  serial: string;
  name?: string;
  model: string;
  address: string;
  /** Moat's own LAN address for this printer; absent for a lone printer served on all of Moat's addresses. */
  lanAddress?: string;
  /** `dhcp`: Moat learns lanAddress from the lease; without one yet the printer is not served. */
  lanAddressing: { method: 'fixed' | 'dhcp' };
  mqtt: { port?: number };
  ftp: { port?: number };
  certificate: { policy: string; fingerprint?: string };
}

/** GET /api/setup: the settings the wizard's steps start from. */
export interface SetupView {
  config: {
    hostname: string;
    segment: { ssid: string; country: string; channel: number; security: 'wpa2' | 'wpa3' };
    printers: PrinterView[];
    accessCodes: AccessCodeView[];
    firewall: { cloudAccess: CloudAccess };
    ports: { mqtt: number };
  };
  segmentPassphraseSet: boolean;
  models: { id: string; name: string }[];
  caFingerprint: string;
  lanAddress: string;
}

/** GET /api/network: the LAN step's view of Ethernet and Wi-Fi. */
export interface NetworkView {
  ethernet: { interface: string; up: boolean; addresses: string[] };
  wifi: { available: boolean; connected?: { ssid: string; signal: number }; problem?: string };
}

/** A port open on Moat's LAN side, in the owner's words. */
export interface OpenService {
  port: string;
  protocol: string;
  what: string;
}

/** GET /api/firewall: the firewall step. */
export interface FirewallView {
  status: FirewallStatus;
  open: OpenService[];
  cloudAccess: CloudAccess;
}
