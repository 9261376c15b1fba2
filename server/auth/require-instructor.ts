// Express middleware for admin routes: only a session that logged in with the instructor
// credential passes; anything else gets 401/403 JSON and a log line.
import type { RequestHandler } from 'express';
import { sendApiError } from '../http/api-error.ts';
import type { Logger } from '../log.ts';
import { readSessionCookie } from '../sessions/session-cookie.ts';
import { sessionTag } from '../sessions/session-store.ts';
import type { SqliteSessionStore } from '../store/sqlite-session-store.ts';

export function requireInstructor(sessions: SqliteSessionStore, log: Logger): RequestHandler {
  return (req, res, next) => {
    const id = readSessionCookie(req.headers.cookie);
    // seen(): an instructor at work keeps their session from expiring as idle.
    const rec = id === undefined ? undefined : sessions.seen(id);
    if (rec?.role === 'instructor') {
      next();
      return;
    }
    log.warn({ path: req.path, method: req.method, session: rec ? sessionTag(rec.id) : null, role: rec?.role ?? null }, 'admin route refused');
    if (!rec) sendApiError(res, 401, 'unauthorized', 'log in as the instructor first');
    else sendApiError(res, 403, 'forbidden', 'this needs the instructor login');
  };
}
