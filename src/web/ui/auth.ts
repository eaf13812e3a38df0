import type { SessionInfo } from '../api-types.js';
import { ApiError, api, rememberSession } from './api.js';
import { formValues, h, messageBox, replace, showMessage } from './dom.js';

/** The claim page (first boot) and the login page. */

function field(label: string, input: HTMLInputElement, hint?: string): HTMLLabelElement {
  return h('label', {}, label, input, hint && h('small', {}, hint));
}

export function showClaim(root: HTMLElement, done: () => void): void {
  const message = messageBox();
  const codeForm = h(
    'form',
    { id: 'claim-code-form', class: 'card narrow' },
    h('h2', {}, 'Claim this Moat'),
    h(
      'p',
      {},
      'Enter the claim code from the file moat-claim.txt on the SD card’s boot partition, or from the console. ',
      'It proves you have the device in hand; it works once.',
    ),
    field(
      'Claim code',
      h('input', {
        name: 'code',
        id: 'claim-code',
        autocomplete: 'off',
        autocapitalize: 'off',
        spellcheck: 'false',
        required: true,
        placeholder: 'xxxxx-xxxxx-xxxxx-xxxxx',
      }),
    ),
    h('button', { type: 'submit' }, 'Continue'),
    message,
  );
  let code = '';
  codeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    code = formValues(codeForm).code ?? '';
    try {
      await api('POST', '/claim/check', { code });
      replace(root, passwordForm);
      passwordForm.querySelector('input')?.focus();
    } catch (error) {
      showMessage(message, (error as Error).message);
    }
  });

  const passwordMessage = messageBox();
  const passwordForm = h(
    'form',
    { id: 'claim-password-form', class: 'card narrow' },
    h('h2', {}, 'Choose the admin password'),
    h('p', {}, 'You will use it to open this page from now on. There is no default password and no way around it.'),
    field(
      'Admin password',
      h('input', {
        name: 'password',
        id: 'new-password',
        type: 'password',
        autocomplete: 'new-password',
        required: true,
      }),
      'At least 10 characters.',
    ),
    field(
      'The same password again',
      h('input', { name: 'confirm', id: 'confirm-password', type: 'password', autocomplete: 'new-password' }),
    ),
    h('button', { type: 'submit' }, 'Set password'),
    passwordMessage,
  );
  passwordForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { password = '', confirm = '' } = formValues(passwordForm);
    if (password !== confirm) {
      showMessage(passwordMessage, 'The two passwords differ; type them again.');
      return;
    }
    try {
      rememberSession(await api<SessionInfo>('POST', '/claim', { code, password }));
      done();
    } catch (error) {
      showMessage(passwordMessage, (error as Error).message);
      if (error instanceof ApiError && error.status === 401) replace(root, codeForm);
    }
  });
  replace(root, codeForm);
}

export function showLogin(root: HTMLElement, done: () => void, notice?: string): void {
  const message = messageBox();
  const form = h(
    'form',
    { id: 'login-form', class: 'card narrow' },
    h('h2', {}, 'Log in'),
    field(
      'Admin password',
      h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password' }),
    ),
    h('button', { type: 'submit' }, 'Log in'),
    message,
  );
  if (notice) showMessage(message, notice, 'ok');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      rememberSession(await api<SessionInfo>('POST', '/login', { password: formValues(form).password ?? '' }));
      done();
    } catch (error) {
      showMessage(message, (error as Error).message);
    }
  });
  replace(root, form);
}
