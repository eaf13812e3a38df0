import type { SessionInfo } from '../api-types.js';

/** Talking to Moat's API: JSON both ways, the session's CSRF token on every request. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onLoggedOut: () => void = () => {};

export function whenLoggedOut(handler: () => void): void {
  onLoggedOut = handler;
}

export function rememberSession(session: SessionInfo): SessionInfo {
  csrfToken = session.csrfToken;
  return session;
}

export function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return send<T>(method, path, 'application/json', body === undefined ? undefined : JSON.stringify(body));
}

/** A file as the request body itself (an update bundle), not wrapped in JSON or a form. */
export function apiUpload<T>(path: string, file: Blob): Promise<T> {
  return send<T>('POST', path, 'application/octet-stream', file);
}

async function send<T>(method: string, path: string, contentType: string, body?: BodyInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      credentials: 'same-origin',
      headers: { 'Content-Type': contentType, 'X-CSRF-Token': csrfToken },
      ...(body !== undefined && { body }),
    });
  } catch {
    throw new ApiError(0, 'Moat cannot be reached. Check the network and try again.');
  }
  const data = (await response.json().catch(() => ({}))) as { error?: string; field?: string };
  if (!response.ok) {
    const authPaths = ['/login', '/claim', '/claim/check', '/password'];
    if (response.status === 401 && !authPaths.includes(path)) onLoggedOut();
    throw new ApiError(response.status, data.error ?? 'Moat did not answer as expected.', data.field);
  }
  return data as T;
}

export async function loadSession(): Promise<SessionInfo> {
  return rememberSession(await api<SessionInfo>('GET', '/session'));
}
