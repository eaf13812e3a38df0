import { api, loadSession, whenLoggedOut } from './api.js';
import { showClaim, showLogin } from './auth.js';
import { showDashboard } from './dashboard.js';
import { h, replace } from './dom.js';
import { showWizard } from './wizard.js';

/** Entry point: claim, login, or the hash-routed app (#/ dashboard, #/setup/<step> wizard). */

const root = document.getElementById('app') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
let stopView: () => void = () => {};

function loggedOut(notice?: string): void {
  stopView();
  stopView = () => {};
  replace(nav);
  showLogin(root, () => void route(), notice);
}

async function route(): Promise<void> {
  stopView();
  stopView = () => {};
  const logout = h('button', { type: 'button', class: 'link', id: 'logout' }, 'Log out');
  logout.addEventListener('click', async () => {
    await api('POST', '/logout').catch(() => undefined);
    await loadSession();
    loggedOut('You are logged out.');
  });
  replace(nav, h('a', { href: '#/' }, 'Dashboard'), h('a', { href: '#/setup/network' }, 'Setup'), logout);
  const hash = location.hash;
  try {
    if (hash.startsWith('#/setup')) stopView = await showWizard(root, hash.split('/')[2] ?? 'network');
    else stopView = showDashboard(root, () => void expired());
  } catch (error) {
    replace(root, h('p', { class: 'message error' }, (error as Error).message));
  }
}

async function expired(): Promise<void> {
  await loadSession();
  loggedOut('Your session ended after a while without activity. Please log in again.');
}

async function start(): Promise<void> {
  whenLoggedOut(() => void expired());
  const session = await loadSession();
  window.addEventListener('hashchange', () => {
    if (nav.childElementCount > 0) void route();
  });
  if (!session.claimed)
    showClaim(root, () => {
      location.hash = '#/setup/network';
      void route();
    });
  else if (!session.authenticated) loggedOut();
  else await route();
}

start().catch((error: unknown) => {
  replace(root, h('p', { class: 'message error' }, `Moat cannot be reached: ${(error as Error).message}`));
});
