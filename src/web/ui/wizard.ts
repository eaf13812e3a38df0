import type {
  AccessCodeView,
  CertificateVerdict,
  CloudAccess,
  ConnectionTestResult,
  FirewallView,
  FoundPrinter,
  NetworkView,
  PrinterView,
  SetupView,
} from '../api-types.js';
import { ApiError, api } from './api.js';
import { errorsShownIn, formValues, h, messageBox, replace, showMessage } from './dom.js';

/** The setup wizard: six steps, each a form over the wizard API. */

const steps = [
  ['network', 'LAN network'],
  ['segment', 'Printer network'],
  ['printer', 'Printer'],
  ['codes', 'Access codes'],
  ['certificate', 'Certificate'],
  ['firewall', 'Firewall'],
] as const;
type StepId = (typeof steps)[number][0];

function field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h('label', {}, label, control, hint && h('small', {}, hint));
}

function input(name: string, attributes: Record<string, string | boolean> = {}): HTMLInputElement {
  return h('input', { name, id: `f-${name}`, autocomplete: 'off', ...attributes });
}

/** Wraps a form submit: shows the owner-readable error next to the form, marks the field at fault. */
function onSubmit(form: HTMLFormElement, message: HTMLElement, action: () => Promise<string | undefined>): void {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const bad of form.querySelectorAll('[aria-invalid]')) bad.removeAttribute('aria-invalid');
    const button = form.querySelector('button[type=submit]') as HTMLButtonElement | null;
    if (button) button.disabled = true;
    try {
      const done = await action();
      if (done) showMessage(message, done, 'ok');
    } catch (error) {
      showMessage(message, (error as Error).message);
      if (error instanceof ApiError && error.field)
        form.querySelector(`[name="${error.field}"]`)?.setAttribute('aria-invalid', 'true');
    } finally {
      if (button) button.disabled = false;
    }
  });
}

export async function showWizard(root: HTMLElement, stepId: string): Promise<() => void> {
  const setup = await api<SetupView>('GET', '/setup');
  const index = Math.max(
    0,
    steps.findIndex(([id]) => id === stepId),
  );
  const [id] = steps[index] ?? steps[0];
  const nav = h(
    'ol',
    { class: 'steps' },
    ...steps.map(([sid, title], i) =>
      h('li', { class: i === index ? 'current' : '' }, h('a', { href: `#/setup/${sid}` }, `${i + 1}. ${title}`)),
    ),
  );
  const body = h('section', { class: 'card', id: `step-${id}` });
  const next = steps[index + 1];
  const footer = h(
    'p',
    { class: 'wizard-nav' },
    index > 0 && h('a', { href: `#/setup/${steps[index - 1]?.[0]}`, class: 'button secondary' }, 'Back'),
    next
      ? h('a', { href: `#/setup/${next[0]}`, class: 'button', id: 'next-step' }, `Next: ${next[1]}`)
      : h('a', { href: '#/', class: 'button', id: 'finish' }, 'Finish: open the dashboard'),
  );
  replace(root, h('h2', {}, 'Set up Moat'), nav, body, footer);
  const stop = await renderStep(id, body, setup);
  return stop;
}

async function renderStep(id: StepId, body: HTMLElement, setup: SetupView): Promise<() => void> {
  switch (id) {
    case 'network':
      return networkStep(body);
    case 'segment':
      return segmentStep(body, setup);
    case 'printer':
      return printerStep(body, setup);
    case 'codes':
      return codesStep(body, setup);
    case 'certificate':
      return certificateStep(body, setup);
    case 'firewall':
      return firewallStep(body);
  }
}

async function networkStep(body: HTMLElement): Promise<() => void> {
  const network = await api<NetworkView>('GET', '/network');
  const { ethernet, wifi } = network;
  const message = messageBox();
  const list = h('ul', { class: 'plain', id: 'wifi-networks' });
  const ssid = input('ssid', { required: true });
  const form = h(
    'form',
    { id: 'wifi-form' },
    field('Network name', ssid),
    field('Passphrase', input('passphrase', { type: 'password' }), 'Sent to NetworkManager directly, never stored.'),
    h('button', { type: 'submit' }, 'Connect'),
    message,
  );
  onSubmit(form, message, async () => {
    await api('POST', '/wifi/connect', formValues(form));
    return `Connected to ${ssid.value}.`;
  });
  const scanMessage = messageBox();
  const scan = h('button', { type: 'button', class: 'secondary', id: 'wifi-scan' }, 'Look for Wi-Fi networks');
  scan.addEventListener('click', async () => {
    try {
      const { networks } = await api<{ networks: { ssid: string; signal: number; security: string }[] }>(
        'GET',
        '/wifi/networks',
      );
      replace(
        list,
        ...networks.map((n) =>
          h(
            'li',
            {},
            h(
              'button',
              { type: 'button', class: 'link', onclick: () => (ssid.value = n.ssid) },
              `${n.ssid} — signal ${n.signal}%, ${n.security}`,
            ),
          ),
        ),
      );
      if (networks.length === 0) showMessage(scanMessage, 'No Wi-Fi networks in range.');
    } catch (error) {
      showMessage(scanMessage, (error as Error).message);
    }
  });
  replace(
    body,
    h('h3', {}, 'How Moat reaches your home network'),
    h(
      'p',
      { id: 'ethernet-status' },
      ethernet.up
        ? `Ethernet (${ethernet.interface}) is connected: ${ethernet.addresses.join(', ')}.`
        : `Ethernet (${ethernet.interface}) has no connection. Plug in a cable, or join Wi-Fi below.`,
    ),
    h('h3', {}, 'Wi-Fi instead of a cable'),
    wifi.available
      ? h(
          'p',
          {},
          wifi.connected ? `Connected to ${wifi.connected.ssid} (${wifi.connected.signal}%).` : 'Not connected.',
        )
      : h('p', { class: 'muted' }, wifi.problem ?? 'Wi-Fi control is not available.'),
    scan,
    scanMessage,
    list,
    form,
  );
  return () => {};
}

function segmentStep(body: HTMLElement, setup: SetupView): () => void {
  const { segment } = setup.config;
  const message = messageBox();
  const form = h(
    'form',
    { id: 'segment-form' },
    field('Access point name', input('ssid', { value: segment.ssid, required: true })),
    field(
      'Passphrase',
      input('passphrase', { type: 'password', autocomplete: 'new-password' }),
      setup.segmentPassphraseSet
        ? 'Leave empty to keep the current one.'
        : '8 to 63 characters; you will type it on the printer.',
    ),
    field('Country', input('country', { value: segment.country, maxlength: '2' }), 'Two letters, such as DE or US.'),
    field(
      'Channel',
      input('channel', { value: String(segment.channel), inputmode: 'numeric' }),
      '1, 6 or 11 are safe.',
    ),
    field(
      'Security',
      h(
        'select',
        { name: 'security', id: 'f-security' },
        h('option', { value: 'wpa2', selected: segment.security === 'wpa2' }, 'WPA2 (every printer)'),
        h('option', { value: 'wpa3', selected: segment.security === 'wpa3' }, 'WPA3 (only printers that support it)'),
      ),
    ),
    h('button', { type: 'submit' }, 'Save'),
    message,
  );
  onSubmit(form, message, async () => {
    const values = formValues(form);
    await api('PUT', '/segment', {
      ssid: values.ssid,
      ...(values.passphrase && { passphrase: values.passphrase }),
      country: (values.country ?? '').toUpperCase(),
      channel: Number(values.channel),
      security: values.security,
    });
    return 'Saved. Join the printer to this network from its screen (Settings → WLAN).';
  });
  replace(
    body,
    h('h3', {}, 'The printer’s own network'),
    h('p', {}, 'Moat runs a small Wi-Fi network just for the printer, walled off from everything else.'),
    form,
  );
  return () => {};
}

function printerStep(body: HTMLElement, setup: SetupView): () => void {
  const message = messageBox();
  const model = h(
    'select',
    { name: 'model', id: 'f-model' },
    ...setup.models.map((m) => h('option', { value: m.id }, m.name)),
  );
  let printers = setup.config.printers;
  // Undefined while editing: the printer keeps the policy it has until a test trusts another certificate.
  let certificate: { policy: 'bbl-ca' | 'pinned'; fingerprint?: string } | undefined = { policy: 'bbl-ca' };
  const serial = input('serial', { required: true });
  const accessCode = input('accessCode', { required: true });
  const lanAddress = input('lanAddress', { inputmode: 'decimal', placeholder: '198.51.100.21' });
  const lanAddressing = h(
    'select',
    { name: 'lanAddressing', id: 'f-lanAddressing' },
    h('option', { value: 'fixed' }, 'An address I choose'),
    h('option', { value: 'dhcp' }, 'From my router (DHCP)'),
  );
  const form = h(
    'form',
    { id: 'printer-form' },
    field('Name', input('name', { maxlength: '64' }), 'Shown on the dashboard.'),
    field('Serial number', serial),
    field('Model', model),
    field('Address', input('address', { required: true, inputmode: 'decimal' })),
    field(
      'Moat’s LAN address for this printer',
      lanAddress,
      'Slicers tell printers apart by address, so each printer needs an address of Moat’s own on your network (required once Moat has more than one printer, unless your router hands it out).',
    ),
    field(
      'How Moat gets that address',
      lanAddressing,
      'With DHCP your router sees one device per printer and Moat uses whatever address it leases; reserve it on the router to keep it.',
    ),
    field('Access code', accessCode, 'On the printer: Settings → Network → LAN only.'),
    field(
      'Wi-Fi MAC address',
      input('mac', { placeholder: '02:00:00:00:00:01' }),
      'Optional: Moat’s network then always gives the printer the address above.',
    ),
    h(
      'details',
      {},
      h('summary', {}, 'Advanced: ports'),
      field('MQTT port', input('mqttPort', { inputmode: 'numeric', placeholder: '8883' })),
      field('FTPS port', input('ftpPort', { inputmode: 'numeric', placeholder: '990' })),
    ),
    h(
      'p',
      { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary', id: 'test-connection' }, 'Test connection'),
      h('button', { type: 'submit', id: 'save-printer' }, 'Save printer'),
    ),
    message,
  );
  const results = h('div', { id: 'test-result', 'data-state': 'none' });
  const editorTitle = h('h3', {}, 'Add a printer');
  const editor = h('div', { id: 'printer-editor' }, editorTitle, form, results);
  const setField = (name: string, value: string) => {
    (form.elements.namedItem(name) as HTMLInputElement).value = value;
  };
  /** The form for a new printer (`editing` absent) or for a configured one, whose code and policy stay unless changed. */
  const openEditor = (editing?: PrinterView) => {
    form.reset();
    replace(results);
    results.dataset.state = 'none';
    replace(message);
    const others = printers.filter((p) => p.serial !== editing?.serial);
    const requireLanAddress = () => {
      lanAddress.required = others.length > 0 && lanAddressing.value === 'fixed';
    };
    lanAddressing.onchange = requireLanAddress;
    serial.readOnly = editing !== undefined;
    accessCode.required = editing === undefined;
    accessCode.placeholder = editing ? 'Leave empty to keep the stored code' : '';
    certificate = editing ? undefined : { policy: 'bbl-ca' };
    replace(editorTitle, editing ? `Edit ${editing.name || editing.serial}` : 'Add a printer');
    if (editing) {
      setField('name', editing.name ?? '');
      setField('serial', editing.serial);
      model.value = editing.model;
      setField('address', editing.address);
      setField('lanAddress', editing.lanAddress ?? '');
      lanAddressing.value = editing.lanAddressing.method;
      setField('mqttPort', editing.mqtt.port === undefined ? '' : String(editing.mqtt.port));
      setField('ftpPort', editing.ftp.port === undefined ? '' : String(editing.ftp.port));
    }
    requireLanAddress();
    editor.hidden = false;
  };
  const values = () => {
    const v = formValues(form);
    return {
      serial: v.serial?.trim(),
      ...(v.name && { name: v.name }),
      model: v.model,
      address: v.address?.trim(),
      ...(v.lanAddress?.trim() && { lanAddress: v.lanAddress.trim() }),
      lanAddressing: v.lanAddressing,
      ...(v.accessCode?.trim() && { accessCode: v.accessCode.trim() }),
      ...(v.mac?.trim() && { mac: v.mac.trim() }),
      ...(v.mqttPort && { mqttPort: Number(v.mqttPort) }),
      ...(v.ftpPort && { ftpPort: Number(v.ftpPort) }),
      ...(certificate && { certificate }),
    };
  };
  const line = (title: string, verdict: Pick<CertificateVerdict, 'detail' | 'fingerprint'>, good: boolean) =>
    h(
      'li',
      { class: good ? 'good' : 'bad' },
      h('strong', {}, `${good ? '✔' : '✘'} ${title}: `),
      verdict.detail,
      verdict.fingerprint && h('code', { class: 'fingerprint' }, verdict.fingerprint),
    );
  const runTest = async () => {
    results.dataset.state = 'running';
    replace(results, h('p', {}, 'Testing… this takes a few seconds.'));
    try {
      const result = await api<ConnectionTestResult>('POST', '/printers/test', values());
      const ok = result.certificate.trusted === true && result.mqtt.ok === true && result.ftp.ok === true;
      results.dataset.state = ok ? 'ok' : 'failed';
      const trust =
        !result.certificate.trusted && result.certificate.fingerprint
          ? h(
              'button',
              {
                type: 'button',
                id: 'trust-certificate',
                onclick: () => {
                  certificate = { policy: 'pinned', fingerprint: result.certificate.fingerprint ?? '' };
                  void runTest();
                },
              },
              'Trust this certificate',
            )
          : null;
      replace(
        results,
        h(
          'ul',
          { class: 'verdicts' },
          line('Certificate', result.certificate, result.certificate.trusted === true),
          line('Printer control (MQTT)', result.mqtt, result.mqtt.ok === true),
          line('File transfer (FTPS)', result.ftp, result.ftp.ok === true),
        ),
        trust &&
          h(
            'p',
            {},
            'If this is your printer (compare with the fingerprint in its settings where shown), Moat can trust ',
            'exactly this certificate from now on. ',
            trust,
          ),
      );
    } catch (error) {
      results.dataset.state = 'failed';
      replace(results, h('p', { class: 'message error' }, (error as Error).message));
    }
  };
  form.querySelector('#test-connection')?.addEventListener('click', () => void runTest());

  const configuredMessage = messageBox();
  const configured = h('ul', { class: 'plain', id: 'configured-printers' });
  const renderConfigured = async () => {
    printers = (await api<SetupView>('GET', '/setup')).config.printers;
    replace(
      configured,
      printers.length === 0 && h('li', { class: 'muted' }, 'No printer yet.'),
      ...printers.map((p) =>
        h(
          'li',
          { 'data-serial': p.serial },
          h('span', { class: 'printer-name' }, p.name || p.serial),
          ` — ${p.serial}, ${p.model}, at ${p.address}; `,
          h(
            'span',
            { class: 'printer-lan-address' },
            p.lanAddress
              ? `Moat’s LAN address for it: ${p.lanAddress}`
              : p.lanAddressing.method === 'dhcp'
                ? 'waiting for a DHCP lease for it'
                : 'on all of Moat’s LAN addresses',
          ),
          ' ',
          h('button', { type: 'button', class: 'secondary edit-printer', onclick: () => openEditor(p) }, 'Edit'),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary remove-printer',
              onclick: () =>
                errorsShownIn(configuredMessage)(async () => {
                  await api('DELETE', `/printers/${encodeURIComponent(p.serial)}`);
                  await renderConfigured();
                }),
            },
            'Remove',
          ),
        ),
      ),
    );
  };
  renderConfigured().catch((error: Error) => showMessage(configuredMessage, error.message));
  onSubmit(form, message, async () => {
    await api('PUT', '/printers', values());
    await renderConfigured();
    return 'Printer saved. Moat connects to it now.';
  });

  const foundList = h('ul', { class: 'plain', id: 'found-printers' }, h('li', { class: 'muted' }, 'Listening…'));
  const use = (p: FoundPrinter) => {
    if (editor.hidden || serial.readOnly) openEditor();
    setField('serial', p.serial);
    setField('address', p.address);
    setField('name', p.name);
    if (p.model) model.value = p.model;
  };
  const poll = async () => {
    try {
      const { printers: found } = await api<{ printers: FoundPrinter[] }>('GET', '/printers/found');
      if (found.length === 0) {
        replace(foundList, h('li', { class: 'muted' }, 'No printer heard yet. Is it on and joined to the network?'));
        return;
      }
      replace(
        foundList,
        ...found.map((p) =>
          h(
            'li',
            { class: 'found' },
            h('span', {}, `${p.name || 'Printer'} — ${p.serial} (${p.model ?? 'unknown model'}) at ${p.address}`),
            h('button', { type: 'button', class: 'secondary use-printer', onclick: () => use(p) }, 'Use'),
          ),
        ),
      );
    } catch {
      // The next poll tries again.
    }
  };
  void poll();
  const timer = setInterval(poll, 2000);

  // With no printer yet the form is the step; otherwise the list is, and "Add a printer" opens the form.
  if (printers.length > 0) editor.hidden = true;
  else openEditor();
  replace(
    body,
    h('h3', {}, 'Configured printers'),
    configured,
    configuredMessage,
    h('p', {}, h('button', { type: 'button', id: 'add-printer', onclick: () => openEditor() }, 'Add a printer')),
    h('h3', {}, 'Printers seen on the printer network'),
    foundList,
    editor,
  );
  return () => clearInterval(timer);
}

function codesStep(body: HTMLElement, setup: SetupView): () => void {
  const message = messageBox();
  const shown = h('div', { id: 'new-code' });
  const list = h('ul', { class: 'plain', id: 'access-codes' });
  const render = (codes: AccessCodeView[]) =>
    replace(
      list,
      ...codes.map((c) =>
        h(
          'li',
          { 'data-role': c.role },
          h('span', { class: 'code-label' }, c.label),
          ` — ${c.role} `,
          h(
            'button',
            {
              type: 'button',
              class: 'secondary revoke',
              onclick: async () => {
                await api('DELETE', `/access-codes/${encodeURIComponent(c.id)}`);
                render((await api<SetupView>('GET', '/setup')).config.accessCodes);
              },
            },
            'Revoke',
          ),
        ),
      ),
    );
  render(setup.config.accessCodes);
  const form = h(
    'form',
    { id: 'code-form' },
    field('Name', input('label', { required: true, maxlength: '64' }), 'Who uses it, e.g. “Studio laptop”.'),
    field(
      'Role',
      h(
        'select',
        { name: 'role', id: 'f-role' },
        h('option', { value: 'viewer' }, 'Viewer — sees status and camera'),
        h('option', { value: 'operator' }, 'Operator — also prints, pauses, stops'),
        h('option', { value: 'admin' }, 'Admin — everything, including printer settings'),
      ),
    ),
    h('button', { type: 'submit' }, 'Create code'),
    message,
  );
  onSubmit(form, message, async () => {
    const created = await api<{ entry: AccessCodeView; code: string }>('POST', '/access-codes', formValues(form));
    replace(
      shown,
      h(
        'p',
        { class: 'shown-once' },
        `Code for “${created.entry.label}” (${created.entry.role}): `,
        h('code', { class: 'access-code' }, created.code),
        ' — write it down now; it is shown only this once. In the slicer, use it as the access code.',
      ),
    );
    form.reset();
    render((await api<SetupView>('GET', '/setup')).config.accessCodes);
    return undefined;
  });
  replace(
    body,
    h('h3', {}, 'Codes for slicers and apps'),
    h('p', {}, 'Each person or app gets its own code in place of the printer’s; revoke one without touching others.'),
    form,
    shown,
    list,
  );
  return () => {};
}

function certificateStep(body: HTMLElement, setup: SetupView): () => void {
  const list = (items: string[]) => h('ul', {}, ...items.map((item) => h('li', {}, item)));
  replace(
    body,
    h('h3', {}, 'Moat’s certificate'),
    h('p', {}, 'Slicers check who they talk to. Give them Moat’s certificate authority (CA) once.'),
    h(
      'p',
      {},
      h(
        'a',
        { href: '/api/ca.crt', download: 'moat-ca.crt', class: 'button', id: 'download-ca' },
        'Download moat-ca.crt',
      ),
    ),
    h('p', {}, 'SHA-256 fingerprint: ', h('code', { id: 'ca-fingerprint', class: 'fingerprint' }, setup.caFingerprint)),
    h('h4', {}, 'Bambu Studio and OrcaSlicer'),
    h(
      'p',
      {},
      'Open the slicer’s printer.cer in a text editor, paste the whole of moat-ca.crt after the last ',
      h('code', {}, '-----END CERTIFICATE-----'),
      ', save, and quit and restart the slicer. Keep what is there: the printer’s own certificates stay valid.',
    ),
    h('h5', {}, 'Windows'),
    list([
      'Bambu Studio: C:\\Program Files\\Bambu Studio\\resources\\cert\\printer.cer',
      'OrcaSlicer: C:\\Program Files\\OrcaSlicer\\resources\\cert\\printer.cer',
      'Open Notepad as administrator to save there.',
    ]),
    h('h5', {}, 'macOS'),
    list([
      'Bambu Studio: /Applications/BambuStudio.app/Contents/Resources/cert/printer.cer',
      'OrcaSlicer: /Applications/OrcaSlicer.app/Contents/Resources/cert/printer.cer',
      'Quit with Cmd+Q before editing, and again after.',
    ]),
    h('h5', {}, 'Linux'),
    list([
      'Packages (.deb/.rpm): /usr/share/Bambu Studio/resources/cert/printer.cer or /usr/share/OrcaSlicer/resources/cert/printer.cer (edit with sudo).',
      'AppImage: run it with --appimage-extract, edit squashfs-root/usr/share/…/resources/cert/printer.cer, start squashfs-root/AppRun.',
      'Flatpak (OrcaSlicer): /var/lib/flatpak/app/com.orcaslicer.OrcaSlicer/current/active/files/share/OrcaSlicer/cert/printer.cer',
      'A slicer update may restore the file: append again after updating.',
    ]),
    h('h4', {}, 'Home Assistant'),
    list([
      `MQTT integration: broker ${setup.lanAddress}, port ${setup.config.ports.mqtt || '(the MQTT port)'}, username bblp, password: an access code from the previous step; under advanced options choose a custom CA and upload moat-ca.crt.`,
      `Bambu Lab integration (ha-bambulab): choose LAN mode, host ${setup.lanAddress}, the printer’s serial, and a viewer or operator access code.`,
    ]),
  );
  return () => {};
}

const cloudAccessChoices: { mode: CloudAccess; label: string; saved: string }[] = [
  { mode: 'off', label: 'Off: the printer stays LAN-only.', saved: 'Cloud access is off.' },
  {
    mode: 'strict',
    label:
      'Strict: the printer may reach the internet over TLS only (Bambu cloud, firmware updates: TCP 443 and 8883, time: UDP 123), names through Moat; everything else is blocked and counted.',
    saved: 'Cloud access is on (strict).',
  },
  {
    mode: 'unrestricted',
    label: 'Unrestricted: the printer may reach the internet on any port, plaintext too (never your home network).',
    saved: 'Cloud access is on (unrestricted).',
  },
];

async function firewallStep(body: HTMLElement): Promise<() => void> {
  const view = await api<FirewallView>('GET', '/firewall');
  const message = messageBox();
  let saved = view.cloudAccess;
  const choices = cloudAccessChoices.map(({ mode, label, saved: done }) => {
    const input = h('input', {
      type: 'radio',
      name: 'cloud-access',
      id: `cloud-access-${mode}`,
      value: mode,
      checked: mode === view.cloudAccess,
    });
    input.addEventListener('change', async () => {
      try {
        await api('PUT', '/firewall/cloud', { mode });
        saved = mode;
        showMessage(message, done, 'ok');
      } catch (error) {
        const previous = document.getElementById(`cloud-access-${saved}`) as HTMLInputElement | null;
        if (previous) previous.checked = true;
        showMessage(message, (error as Error).message);
      }
    });
    return h('label', { class: 'switch' }, input, ` ${label}`);
  });
  replace(
    body,
    h('h3', {}, 'What your home network can reach'),
    h(
      'p',
      { id: 'firewall-state' },
      view.status.applied
        ? 'The firewall is active.'
        : view.status.enabled
          ? 'The firewall is not applied yet.'
          : 'The firewall is switched off (development mode).',
    ),
    ...view.status.problems.map((p) => h('p', { class: 'message error' }, p)),
    h(
      'table',
      { id: 'open-ports' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Port'), h('th', {}, 'Protocol'), h('th', {}, 'For'))),
      h(
        'tbody',
        {},
        ...view.open.map((o) => h('tr', {}, h('td', {}, o.port), h('td', {}, o.protocol), h('td', {}, o.what))),
      ),
    ),
    h('p', {}, 'Everything else is dropped. The printer can never reach your home network.'),
    h('fieldset', { id: 'cloud-access' }, h('legend', {}, 'Cloud access for the printer'), ...choices),
    message,
  );
  return () => {};
}
