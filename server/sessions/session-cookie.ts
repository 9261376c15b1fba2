// The session cookie: its name, how it is written (httpOnly, SameSite=Strict, scoped to the base
// path) and how it is read back from a raw Cookie header (HTTP requests and WebSocket upgrades alike).
import type { IncomingMessage } from 'node:http';
import type { Session, SessionStore } from './session-store.ts';

export const SESSION_COOKIE = 'labwright_session';

/** Set-Cookie value for a new session. `secure` when the page was served over https. */
export function sessionCookieHeader(id: string, basePath: string, secure: boolean): string {
  const attrs = [`${SESSION_COOKIE}=${id}`, `Path=${basePath}`, 'HttpOnly', 'SameSite=Strict'];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

/** Set-Cookie value that makes the browser drop the session cookie (logout). */
export function clearedSessionCookieHeader(basePath: string, secure: boolean): string {
  return `${sessionCookieHeader('', basePath, secure)}; Max-Age=0`;
}

/** The session cookie's value from a Cookie header, if present. Other cookies are ignored. */
export function readSessionCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const pair of cookieHeader.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() === SESSION_COOKIE) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** Resolves the session a request carries, or undefined. */
export async function sessionOf(req: IncomingMessage, store: SessionStore): Promise<Session | undefined> {
  const id = readSessionCookie(req.headers.cookie);
  return id === undefined ? undefined : store.get(id);
}
