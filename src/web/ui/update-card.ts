import type { UpdateBundle, UpdateJob, UpdateStatus } from '../api-types.js';
import { api, apiUpload } from './api.js';
import { errorsShownIn, formatBytes, h, messageBox, replace, showMessage } from './dom.js';

/** How often the card asks for progress while an install runs. */
const pollMs = 1000;

function slotsText(status: UpdateStatus): string {
  if (status.unavailable) return status.unavailable;
  return (status.slots ?? [])
    .map((slot) => {
      const version = slot.booted ? status.running : (slot.version ?? 'the version the card came with');
      const role = slot.booted ? 'running' : 'other slot';
      const next = slot.primary ? ', starts next' : '';
      return `Slot ${slot.bootname} (${role}${next}): ${version}, ${slot.bootStatus}.`;
    })
    .join(' ');
}

/**
 * The dashboard's update card: choose a bundle, see its version and signature check, install it into the
 * other slot, follow the progress and restart into it. Moat checks the bundle with RAUC before anything is installed.
 */
export function updateCard(): HTMLElement {
  const slots = h('p', { id: 'update-slots' }, 'Loading…');
  const file = h('input', { type: 'file', id: 'update-file', accept: '.raucb' });
  const check = h('button', { type: 'button', id: 'update-check' }, 'Check bundle');
  const allowOlder = h('input', { type: 'checkbox', id: 'update-allow-older' });
  const bundleInfo = h('p', { id: 'update-bundle', hidden: true });
  const install = h('button', { type: 'button', id: 'update-install', hidden: true }, 'Install');
  const progress = h('progress', { id: 'update-progress', max: 100, value: 0, hidden: true });
  const restart = h('button', { type: 'button', id: 'update-restart', hidden: true }, 'Restart now');
  const message = messageBox();
  let limit = 0;
  let canRestart = false;

  const showBundle = (bundle: UpdateBundle) => {
    bundleInfo.hidden = false;
    replace(
      bundleInfo,
      `Version ${bundle.version}, signed by ${bundle.signer || 'the update key'}: signature verified.`,
    );
  };
  const showJob = (job: UpdateJob) => {
    install.hidden = job.state !== 'checked';
    progress.hidden = job.state !== 'installing';
    progress.value = job.percent;
    restart.hidden = !(canRestart && job.state === 'installed');
    if (job.bundle) showBundle(job.bundle);
    if (job.state === 'installing') showMessage(message, `${job.percent}% ${job.message}`, 'ok');
    if (job.state === 'installed') showMessage(message, job.message, 'ok');
    if (job.state === 'failed') showMessage(message, job.message);
  };
  const refresh = async (): Promise<void> => {
    const status = await api<UpdateStatus>('GET', '/update');
    limit = status.maxBundleBytes;
    canRestart = status.canRestart;
    slots.textContent = slotsText(status);
    check.disabled = Boolean(status.unavailable);
    showJob(status.job);
    if (status.job.state === 'installing') setTimeout(() => void run(refresh), pollMs);
  };
  const run = errorsShownIn(message);

  check.addEventListener('click', () =>
    run(async () => {
      const chosen = file.files?.[0];
      if (!chosen) return showMessage(message, 'Choose a bundle file (moat-<version>-arm64.raucb) first.');
      if (limit && chosen.size > limit)
        return showMessage(message, `The file is larger than ${formatBytes(limit)}; that is not a Moat update.`);
      install.hidden = true;
      bundleInfo.hidden = true;
      showMessage(message, `Uploading and checking ${formatBytes(chosen.size)}…`, 'ok');
      const query = allowOlder.checked ? '?allowDowngrade=1' : '';
      const { bundle } = await apiUpload<{ bundle: UpdateBundle }>(`/update/bundle${query}`, chosen);
      showBundle(bundle);
      install.hidden = false;
      showMessage(message, 'Ready to install into the other slot. Moat keeps running meanwhile.', 'ok');
    }),
  );
  install.addEventListener('click', () =>
    run(async () => {
      install.hidden = true;
      await api('POST', '/update/install');
      await refresh();
    }),
  );
  restart.addEventListener('click', () =>
    run(async () => {
      restart.hidden = true;
      const { message: restarting } = await api<{ message: string }>('POST', '/update/restart');
      showMessage(message, restarting, 'ok');
    }),
  );
  void run(refresh);
  return h(
    'section',
    { class: 'card', id: 'update' },
    h('h3', {}, 'Update'),
    slots,
    file,
    ' ',
    check,
    h('label', {}, allowOlder, ' Allow an older version'),
    bundleInfo,
    install,
    progress,
    restart,
    message,
  );
}
