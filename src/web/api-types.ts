/**
 * The JSON shapes the dashboard and wizard API sends, shared by the server (src/web/*.ts) and the browser
 * code (src/web/ui, its own tsconfig includes this file). Types only and no imports, so it compiles under
 * both the Node and the DOM settings and the browser never loads anything from it.
 */

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
}
