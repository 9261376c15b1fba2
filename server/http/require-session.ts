// Express middleware for routes that need a session: 401 JSON without one, otherwise the session
// is available to the route through sessionFor(req).
import type { Request, RequestHandler } from 'express';
import { sessionOf } from '../sessions/session-cookie.ts';
import type { Session, SessionStore } from '../sessions/session-store.ts';
import { sendApiError } from './api-error.ts';

const sessions = new WeakMap<Request, Session>();

export function requireSession(store: SessionStore): RequestHandler {
  return async (req, res, next) => {
    const session = await sessionOf(req, store);
    if (!session) {
      sendApiError(res, 401, 'unauthorized', 'no session: open the Labwright page first');
      return;
    }
    sessions.set(req, session);
    next();
  };
}

/** The session requireSession attached; throws only if a route forgot the middleware (a bug). */
export function sessionFor(req: Request): Session {
  const s = sessions.get(req);
  if (!s) throw new Error('sessionFor() on a route without requireSession');
  return s;
}
