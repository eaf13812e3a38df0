import type { SessionInfo, SystemHealth } from '../api-types.js';
import { api, rememberSession } from './api.js';
import { formatBytes, formatDuration, formValues, h, messageBox, replace, showMessage } from './dom.js';
import { metricsCard } from './metrics-card.js';

/** The dashboard: one snapshot over server-sent events, re-rendered as it arrives. */

interface PrinterSummary {
  serial: string;
  name: string;
  model: string;
  online: boolean;
  state: Record<string, unknown>;
  lastReportAt?: string;
}
interface ClientView {
  protocol: string;
  label: string;
  role: string;
  address: string;
  at: string;
  clientId: string;
}
interface TransferView {
  id: string;
  serial: string;
  direction: string;
  name: string;
  bytes: number;
  total?: number;
  state: string;
  label: string;
  /** Port-6000 tunnel sessions: bytes and time are all Moat sees of them. */
  durationMs?: number;
}
interface FirewallView {
  enabled: boolean;
  applied: boolean;
  problems: string[];
  counters: Record<string, { packets: number; bytes: number }>;
  droppedPorts: { protocol: string; port: number; packets: number; bytes: number }[];
  cloudAccess: 'off' | 'strict' | 'unrestricted';
}
interface Snapshot {
  printers: PrinterSummary[];
  clients: ClientView[];
  transfers: TransferView[];
  firewall: FirewallView;
}
interface AuditEntry {
  at: string;
  serial: string;
  label: string;
  role: string;
  address: string;
  command: string;
  outcome: string;
  reason?: string;
}

const printStates: Record<string, string> = {
  IDLE: 'Idle',
  PREPARE: 'Preparing',
  RUNNING: 'Printing',
  PAUSE: 'Paused',
  FINISH: 'Finished',
  FAILED: 'Failed',
};

function num(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function time(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString();
}

function printerCard(p: PrinterSummary): HTMLElement {
  const percent = num(p.state.mc_percent);
  const remaining = num(p.state.mc_remaining_time);
  const layer = num(p.state.layer_num);
  const layers = num(p.state.total_layer_num);
  const state = typeof p.state.gcode_state === 'string' ? p.state.gcode_state : undefined;
  const signal = typeof p.state.wifi_signal === 'string' ? p.state.wifi_signal : undefined;
  return h(
    'article',
    { class: 'printer', 'data-serial': p.serial },
    h(
      'h3',
      {},
      h('span', { class: 'printer-name' }, p.name || p.serial),
      ' ',
      h('span', { class: `badge ${p.online ? 'good' : 'bad'}` }, p.online ? 'online' : 'offline'),
    ),
    h('p', { class: 'muted' }, `${p.model} · ${p.serial}`),
    h('p', { class: 'print-state' }, state ? (printStates[state] ?? state) : 'No report yet'),
    typeof p.state.subtask_name === 'string' && h('p', { class: 'job' }, p.state.subtask_name),
    percent !== undefined &&
      h(
        'p',
        {},
        h('progress', { class: 'print-progress', max: 100, value: percent }),
        h('span', { class: 'print-percent' }, ` ${percent}%`),
        remaining !== undefined && ` · ${formatDuration(remaining * 60)} left`,
        layer !== undefined && layers !== undefined && ` · layer ${layer}/${layers}`,
      ),
    signal && h('p', { class: 'wifi-signal' }, `Printer Wi-Fi: ${signal}`),
  );
}

function table(id: string, headings: string[], rows: (string | Node)[][], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { id, class: 'muted' }, empty);
  return h(
    'table',
    { id },
    h('thead', {}, h('tr', {}, ...headings.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((c) => h('td', {}, c))))),
  );
}

function transferProgress(t: TransferView): Node {
  if (t.total && t.total > 0)
    return h(
      'span',
      {},
      h('progress', { class: 'transfer-progress', max: t.total, value: Math.min(t.bytes, t.total) }),
      ` ${formatBytes(t.bytes)} of ${formatBytes(t.total)}`,
    );
  // Unknown size: an indeterminate bar that still shows the byte count moving.
  return h('span', {}, h('progress', { class: 'transfer-progress' }), ` ${formatBytes(t.bytes)}`);
}

export function showDashboard(root: HTMLElement, onExpired: () => void): () => void {
  const printers = h('div', { id: 'printers', class: 'grid' }, h('p', { class: 'muted' }, 'Loading…'));
  const clients = h('div', {});
  const transfers = h('div', {});
  const firewall = h('div', {});
  const health = h('div', { id: 'health' }, h('p', { class: 'muted' }, 'Measuring…'));
  const audit = h('div', {});
  const auditMessage = messageBox();
  const auditForm = h(
    'form',
    { id: 'audit-filter', class: 'inline' },
    h('label', {}, 'Printer', h('input', { name: 'serial', placeholder: 'any' })),
    h('label', {}, 'Code', h('input', { name: 'label', placeholder: 'any' })),
    h(
      'label',
      {},
      'Outcome',
      h(
        'select',
        { name: 'outcome' },
        h('option', { value: '' }, 'any'),
        h('option', { value: 'allowed' }, 'allowed'),
        h('option', { value: 'refused' }, 'refused'),
        h('option', { value: 'dropped' }, 'dropped'),
      ),
    ),
    h('button', { type: 'submit' }, 'Filter'),
  );
  let entries: AuditEntry[] = [];
  const renderAudit = () =>
    replace(
      audit,
      table(
        'audit-log',
        ['Time', 'Printer', 'Code', 'Command', 'Outcome'],
        entries.map((e) => [
          time(e.at),
          e.serial,
          `${e.label} (${e.role})`,
          e.command,
          e.reason ? `${e.outcome}: ${e.reason}` : e.outcome,
        ]),
        'No commands recorded.',
      ),
    );
  const filters = () => {
    const values = formValues(auditForm);
    return Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
  };
  const loadAudit = async () => {
    try {
      const query = new URLSearchParams({ ...filters(), limit: '100' });
      entries = (await api<{ entries: AuditEntry[] }>('GET', `/audit?${query}`)).entries;
      auditMessage.textContent = '';
      renderAudit();
    } catch (error) {
      showMessage(auditMessage, (error as Error).message);
    }
  };
  auditForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void loadAudit();
  });

  const passwordMessage = messageBox();
  const passwordForm = h(
    'form',
    { id: 'password-form', class: 'inline' },
    h(
      'label',
      {},
      'Current password',
      h('input', { name: 'current', type: 'password', autocomplete: 'current-password' }),
    ),
    h('label', {}, 'New password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password' })),
    h('button', { type: 'submit' }, 'Change'),
  );
  passwordForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      rememberSession(await api<SessionInfo>('PUT', '/password', formValues(passwordForm)));
      passwordForm.reset();
      showMessage(passwordMessage, 'Password changed. Every other session was logged out.', 'ok');
    } catch (error) {
      showMessage(passwordMessage, (error as Error).message);
    }
  });

  replace(
    root,
    h('h2', {}, 'Dashboard'),
    h('section', { class: 'card' }, h('h3', {}, 'Printers'), printers),
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'card' }, h('h3', {}, 'Connected clients'), clients),
      h('section', { class: 'card' }, h('h3', {}, 'Transfers'), transfers),
      h('section', { class: 'card' }, h('h3', {}, 'Firewall'), firewall),
      h('section', { class: 'card' }, h('h3', {}, 'System'), health),
    ),
    h('section', { class: 'card' }, h('h3', {}, 'Audit log'), auditForm, auditMessage, audit),
    h('section', { class: 'card' }, h('h3', {}, 'Admin password'), passwordForm, passwordMessage),
    metricsCard(),
  );

  const render = (s: Snapshot) => {
    replace(
      printers,
      ...(s.printers.length
        ? s.printers.map(printerCard)
        : [h('p', {}, 'No printer yet. ', h('a', { href: '#/setup/printer' }, 'Add one in the setup.'))]),
    );
    replace(
      clients,
      table(
        'clients',
        ['Code', 'Role', 'Via', 'Address', 'Since'],
        s.clients.map((c) => [c.label, c.role, c.protocol.toUpperCase(), c.address, time(c.at)]),
        'Nobody is connected.',
      ),
    );
    replace(
      transfers,
      table(
        'transfers',
        ['File', 'Direction', 'Code', 'Progress', 'State'],
        s.transfers.map((t) => [
          t.name,
          t.direction,
          t.label,
          transferProgress(t),
          t.durationMs === undefined ? t.state : `${t.state}, ${(t.durationMs / 1000).toFixed(1)} s`,
        ]),
        'No transfers.',
      ),
    );
    const counters = Object.entries(s.firewall.counters);
    replace(
      firewall,
      h(
        'p',
        { id: 'firewall-status' },
        s.firewall.applied ? 'Active' : s.firewall.enabled ? 'Not applied' : 'Off (development mode)',
        ` · cloud access ${s.firewall.cloudAccess}`,
      ),
      ...s.firewall.problems.map((p) => h('p', { class: 'message error' }, p)),
      table(
        'firewall-counters',
        ['Dropped by', 'Packets', 'Bytes'],
        counters.map(([rule, c]) => [rule, String(c.packets), formatBytes(c.bytes)]),
        'No drops counted.',
      ),
      s.firewall.cloudAccess === 'strict' &&
        table(
          'firewall-dropped-ports',
          ['Printer refused towards the internet', 'Packets', 'Bytes'],
          s.firewall.droppedPorts.map((d) => [
            `${d.protocol.toUpperCase()} ${d.port}`,
            String(d.packets),
            formatBytes(d.bytes),
          ]),
          'The printer tried nothing outside TLS and time.',
        ),
    );
  };
  const renderHealth = (m: SystemHealth) =>
    replace(
      health,
      h(
        'dl',
        {},
        h('dt', {}, 'CPU temperature'),
        h('dd', {}, m.cpuTemperature === null ? 'not reported' : `${m.cpuTemperature.toFixed(1)} °C`),
        h('dt', {}, 'CPU load'),
        h('dd', {}, `${m.cpuLoad}%`),
        h('dt', {}, 'Memory'),
        h('dd', {}, `${formatBytes(m.memory.used)} of ${formatBytes(m.memory.total)}`),
        h('dt', {}, 'Disk'),
        h('dd', {}, m.disk ? `${formatBytes(m.disk.used)} of ${formatBytes(m.disk.total)}` : 'unknown'),
        h('dt', {}, 'Up for'),
        h('dd', {}, formatDuration(m.uptimeSeconds)),
      ),
    );

  const stream = new EventSource('/api/events');
  stream.addEventListener('snapshot', (event) => render(JSON.parse((event as MessageEvent<string>).data)));
  stream.addEventListener('health', (event) => renderHealth(JSON.parse((event as MessageEvent<string>).data)));
  stream.addEventListener('audit', (event) => {
    const entry = JSON.parse((event as MessageEvent<string>).data) as AuditEntry;
    const f = filters();
    if (Object.entries(f).every(([k, v]) => String(entry[k as keyof AuditEntry] ?? '') === v)) {
      entries = [entry, ...entries].slice(0, 100);
      renderAudit();
    }
  });
  stream.addEventListener('expired', () => {
    stream.close();
    onExpired();
  });
  // EventSource retries by itself while Moat restarts; it gives up for good when refused (the session
  // did not survive the restart): then the page asks for the login again.
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED) onExpired();
  });
  void loadAudit();
  return () => stream.close();
}
