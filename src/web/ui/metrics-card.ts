import { api } from './api.js';
import { errorsShownIn, h, messageBox, replace, showMessage } from './dom.js';

/**
 * The dashboard's metrics card: turn /metrics on (a new bearer token, shown here once), replace the token,
 * or turn metrics off (the token is revoked).
 */
export function metricsCard(): HTMLElement {
  const state = h('p', { id: 'metrics-state' }, 'Loading…');
  const shown = h('div', { id: 'metrics-token', class: 'shown-once', hidden: true });
  const message = messageBox();
  const issue = h('button', { type: 'button', id: 'metrics-issue' }, 'Turn on');
  const revoke = h('button', { type: 'button', id: 'metrics-revoke', class: 'secondary' }, 'Turn off');
  const render = (enabled: boolean) => {
    state.textContent = enabled
      ? 'On: /metrics answers a Prometheus server or Home Assistant that presents the token.'
      : 'Off: /metrics does not exist.';
    issue.textContent = enabled ? 'Replace the token' : 'Turn on';
    revoke.hidden = !enabled;
  };
  const run = errorsShownIn(message);
  issue.addEventListener('click', () =>
    run(async () => {
      const { token } = await api<{ token: string }>('POST', '/metrics/token');
      render(true);
      shown.hidden = false;
      replace(
        shown,
        h('p', {}, 'The token, shown only now; any earlier token no longer works:'),
        h('code', { class: 'fingerprint' }, token),
        h('p', { class: 'muted' }, 'Send it as “Authorization: Bearer <token>” (see docs/metrics.md).'),
      );
      message.textContent = '';
    }),
  );
  revoke.addEventListener('click', () =>
    run(async () => {
      await api('DELETE', '/metrics/token');
      render(false);
      shown.hidden = true;
      replace(shown);
      showMessage(message, 'Metrics are off; the token no longer works.', 'ok');
    }),
  );
  void run(async () => render((await api<{ enabled: boolean }>('GET', '/metrics')).enabled));
  return h(
    'section',
    { class: 'card', id: 'metrics' },
    h('h3', {}, 'Metrics'),
    state,
    issue,
    ' ',
    revoke,
    shown,
    message,
  );
}
