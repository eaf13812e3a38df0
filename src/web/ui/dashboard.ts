import type {
  AuditEvent,
  DashboardSnapshot,
  PrinterSummary,
  SessionInfo,
  SystemHealth,
  TransferEvent,
} from '../api-types.js';
import { api, rememberSession } from './api.js';
import { formatBytes, formatDuration, formValues, h, messageBox, replace, showMessage } from './dom.js';
import { metricsCard } from './metrics-card.js';
import { updateCard } from './update-card.js';

/** The dashboard: one snapshot over server-sent events, re-rendered as it arrives. */

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
    p.lanAddress && h('p', { class: 'lan-address' }, `On Moat’s address ${p.lanAddress}`),
    p.waitingForLease && h('p', { class: 'lan-address' }, `Waiting for a DHCP lease on ${p.waitingForLease}`),
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

function transferProgress(t: TransferEvent): Node {
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

/** A store-and-forward stage as a bar with its percent and the time left at its rate so far. */
function stageProgress(label: string, stage: string, t: TransferEvent | undefined): Node {
  if (!t) return h('p', { class: `stage stage-${stage} muted` }, `${label}: waiting`);
  const total = t.total ?? (t.state === 'done' ? t.bytes : undefined);
  if (total === undefined)
    return h('p', { class: `stage stage-${stage}` }, `${label} `, h('progress', {}), ` ${formatBytes(t.bytes)}`);
  const percent = total > 0 ? Math.floor((Math.min(t.bytes, total) / total) * 100) : 100;
  const elapsed = (Date.now() - new Date(t.startedAt).getTime()) / 1000;
  const left = t.state === 'active' && t.bytes > 0 && elapsed > 0 ? (total - t.bytes) / (t.bytes / elapsed) : undefined;
  // Bytes count when Moat has written them; the socket buffers can hold the last megabytes while the printer
  // still reads them, so a stage that has written everything but is not done waits for its peer.
  const waiting = t.state === 'active' && t.bytes >= total;
  return h(
    'p',
    { class: `stage stage-${stage}` },
    `${label} `,
    h('progress', { max: total, value: Math.min(t.bytes, total) }),
    h('span', { class: 'stage-percent' }, ` ${percent}%`),
    waiting && ` · waiting for the ${stage === 'drain' ? 'printer' : 'client'}`,
    !waiting && left !== undefined && ` · ${left < 60 ? `${Math.ceil(left)} s` : formatDuration(left)} left`,
    t.state === 'failed' && ` · ${t.error ?? 'failed'}`,
  );
}

/**
 * The transfers table's rows. A store-and-forward upload is one row with two bars — LAN → Moat and Moat →
 * printer — joined by printer and file name (a drain resumed after a restart has only the second); a
 * drain retried after a failure shows its latest attempt.
 */
function transferRows(transfers: TransferEvent[]): (string | Node)[][] {
  const drains = transfers.filter((t) => t.stage === 'drain');
  const latestDrain = (t: TransferEvent) =>
    drains
      .filter((d) => d.serial === t.serial && d.name === t.name && d.startedAt >= t.startedAt)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
      .at(-1);
  const paired = new Set<TransferEvent>();
  const rows: (string | Node)[][] = [];
  for (const t of transfers) {
    if (t.stage === 'drain') continue;
    if (t.stage !== 'spool') {
      // A port-6000 tunnel session is TLS end to end: its bytes and its duration are all Moat sees of it.
      const state = t.durationMs === undefined ? t.state : `${t.state}, ${(t.durationMs / 1000).toFixed(1)} s`;
      rows.push([t.name, t.direction, t.label, transferProgress(t), state]);
      continue;
    }
    const drain = latestDrain(t);
    if (drain) paired.add(drain);
    const state =
      t.state !== 'done'
        ? t.state
        : drain?.state === 'done'
          ? 'done'
          : drain?.state === 'failed'
            ? 'failed'
            : 'draining';
    const bars = h('div', {}, stageProgress('LAN → Moat', 'spool', t), stageProgress('Moat → printer', 'drain', drain));
    rows.push([t.name, 'upload (store-and-forward)', t.label, bars, state]);
  }
  const unpaired = drains.filter((d) => !paired.has(d) && d === latestDrain({ ...d, startedAt: '' }));
  for (const d of unpaired)
    rows.push([d.name, 'upload (resumed drain)', d.label, stageProgress('Moat → printer', 'drain', d), d.state]);
  return rows;
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
        h('option', { value: 'held' }, 'held'),
      ),
    ),
    h('button', { type: 'submit' }, 'Filter'),
  );
  let entries: AuditEvent[] = [];
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
      entries = (await api<{ entries: AuditEvent[] }>('GET', `/audit?${query}`)).entries;
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
    updateCard(),
  );

  const render = (s: DashboardSnapshot) => {
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
        transferRows(s.transfers),
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
    const entry = JSON.parse((event as MessageEvent<string>).data) as AuditEvent;
    const f = filters();
    if (Object.entries(f).every(([k, v]) => String(entry[k as keyof AuditEvent] ?? '') === v)) {
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
