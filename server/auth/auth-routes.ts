// Instructor login under {base}api/instructor: the credential is exchanged for a fresh
// instructor session whose cookie (httpOnly, SameSite=Strict) authorizes the admin routes.
// Wrong credentials are counted per client address; too many and that address waits (429).
// Logout ends the instructor session (its row is deleted, its open dashboard sockets closed).
import express, { Router } from 'express';
import { sendApiError } from '../http/api-error.ts';
import type { Logger } from '../log.ts';
import { clearedSessionCookieHeader, readSessionCookie, sessionCookieHeader } from '../sessions/session-cookie.ts';
import { sessionTag } from '../sessions/session-store.ts';
import type { SqliteSessionStore } from '../store/sqlite-session-store.ts';
import type { InstructorCredential } from './instructor-credential.ts';
import { LoginThrottle } from './login-throttle.ts';

export function authRoutes(opts: { sessions: SqliteSessionStore; credential: InstructorCredential; basePath: string; log: Logger; throttle?: LoginThrottle }): Router {
  const router = Router();
  const throttle = opts.throttle ?? new LoginThrottle();
  router.use(express.json({ limit: '4kb' }));

  router.get('/me', (req, res) => {
    const id = readSessionCookie(req.headers.cookie);
    res.json({ instructor: id !== undefined && opts.sessions.seen(id)?.role === 'instructor' });
  });

  // Ends the instructor session the cookie names. Anything else (no cookie, another role) is
  // left alone: logging out must not end an attendee's session by a stray request.
  router.post('/logout', (req, res) => {
    const id = readSessionCookie(req.headers.cookie);
    const rec = id === undefined ? undefined : opts.sessions.record(id);
    if (rec?.role === 'instructor') {
      opts.sessions.end(rec.id);
      opts.log.info({ session: sessionTag(rec.id) }, 'instructor logged out');
    }
    res.setHeader('Set-Cookie', clearedSessionCookieHeader(opts.basePath, req.secure));
    res.status(204).end();
  });

  router.post('/login', (req, res) => {
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
    const body: unknown = req.body;
    const token = typeof body === 'object' && body !== null && 'token' in body && typeof body.token === 'string' ? body.token : undefined;
    if (token === undefined || token.length > 512) {
      sendApiError(res, 400, 'bad-request', 'send {"token": "…"}');
      return;
    }
    if (!opts.credential.matches(token)) {
      throttle.recordFailure(ip);
      opts.log.warn({ ip }, 'instructor login refused: wrong credential');
      sendApiError(res, 401, 'unauthorized', 'that is not the instructor credential (see the output of labwright serve)');
      return;
    }
    // A new session (not an upgrade of the current one): a cookie planted before login grants nothing.
    const session = opts.sessions.createSync('instructor');
    opts.log.info({ session: sessionTag(session.id) }, 'instructor logged in');
    res.setHeader('Set-Cookie', sessionCookieHeader(session.id, opts.basePath, req.secure));
    res.status(204).end();
  });

  return router;
}
