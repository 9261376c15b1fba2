// Instructor login under {base}api/instructor (paths and bodies: API in common/http-api.ts): the
// credential is exchanged for a fresh instructor session whose cookie (httpOnly, SameSite=Strict)
// authorizes the admin routes.
// Wrong credentials are counted per client address; too many and that address waits (429).
// Logout ends the instructor session (its row is deleted, its open dashboard sockets closed).
import { Router } from 'express';
import { API } from '../../common/http-api.ts';
import { sendApiError } from '../http/api-error.ts';
import { jsonBody, readBody, sendAnswer } from '../http/api-input.ts';
import type { Logger } from '../log.ts';
import { clearedSessionCookieHeader, readSessionCookie, sessionCookieHeader } from '../sessions/session-cookie.ts';
import { sessionTag } from '../sessions/session-store.ts';
import type { SqliteSessionStore } from '../store/sqlite-session-store.ts';
import type { InstructorCredential } from './instructor-credential.ts';
import { LoginThrottle } from './login-throttle.ts';

export function authRoutes(opts: { sessions: SqliteSessionStore; credential: InstructorCredential; basePath: string; log: Logger; throttle?: LoginThrottle }): Router {
  const router = Router();
  const throttle = opts.throttle ?? new LoginThrottle();
  router.use('/instructor', jsonBody());

  router.get(API.instructorMe.path, (req, res) => {
    const id = readSessionCookie(req.headers.cookie);
    sendAnswer(res, API.instructorMe, { instructor: id !== undefined && opts.sessions.seen(id)?.role === 'instructor' });
  });

  // Ends the instructor session the cookie names. Anything else (no cookie, another role) is
  // left alone: logging out must not end an attendee's session by a stray request.
  router.post(API.instructorLogout.path, (req, res) => {
    const id = readSessionCookie(req.headers.cookie);
    const rec = id === undefined ? undefined : opts.sessions.record(id);
    if (rec?.role === 'instructor') {
      opts.sessions.end(rec.id);
      opts.log.info({ session: sessionTag(rec.id) }, 'instructor logged out');
    }
    res.setHeader('Set-Cookie', clearedSessionCookieHeader(opts.basePath, req.secure));
    sendAnswer(res, API.instructorLogout);
  });

  router.post(API.instructorLogin.path, (req, res) => {
    // The client behind a configured trusted proxy (its X-Forwarded-For), else the direct peer.
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const waitMs = throttle.retryAfterMs(ip);
    if (waitMs > 0) {
      const secs = Math.ceil(waitMs / 1000);
      opts.log.warn({ ip }, 'instructor login refused: too many wrong credentials from this address');
      res.setHeader('Retry-After', String(secs));
      sendApiError(res, 429, 'too-many-attempts', `too many wrong credentials from this address; try again in ${secs} s`);
      return;
    }
    const body = readBody(API.instructorLogin, req, res);
    if (!body) return;
    if (!opts.credential.matches(body.token)) {
      throttle.recordFailure(ip);
      opts.log.warn({ ip }, 'instructor login refused: wrong credential');
      sendApiError(res, 401, 'unauthorized', 'that is not the instructor credential (see the output of labwright serve)');
      return;
    }
    // A new session (not an upgrade of the current one): a cookie planted before login grants nothing.
    const session = opts.sessions.createSync('instructor');
    opts.log.info({ session: sessionTag(session.id) }, 'instructor logged in');
    res.setHeader('Set-Cookie', sessionCookieHeader(session.id, opts.basePath, req.secure));
    sendAnswer(res, API.instructorLogin);
  });

  return router;
}
