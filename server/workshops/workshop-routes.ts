// HTTP routes of workshop mode under {base}api/: the instructor's (create, list, snapshot,
// extend, end, reset an attendee; instructor login required) and the attendee's join link.
import express, { Router } from 'express';
import type { Request, Response } from 'express';
import { requireInstructor } from '../auth/require-instructor.ts';
import { sendApiError } from '../http/api-error.ts';
import type { Logger } from '../log.ts';
import { RateWindow, addressKey, waitText } from '../sessions/rate-window.ts';
import { readSessionCookie, sessionCookieHeader } from '../sessions/session-cookie.ts';
import type { DurableStore } from '../store/durable-store.ts';
import { WorkshopError } from './workshop-service.ts';
import type { WorkshopService } from './workshop-service.ts';

/** 1–40 printable characters, no control or bidi-override characters (names are shown to others). */
export function cleanDisplayName(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const name = raw.normalize('NFC').replace(/\s+/g, ' ').trim();
  if (name.length < 1 || name.length > 40) return undefined;
  if (/[\p{Cc}\p{Cf}]/u.test(name)) return undefined;
  return name;
}

const field = (body: unknown, name: string): unknown => (typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined);

function fail(res: Response, e: unknown): void {
  if (!(e instanceof WorkshopError)) throw e;
  const status = e.code === 'not-found' ? 404 : e.code === 'workshop-ended' ? 410 : 400;
  sendApiError(res, status, e.code, e.message);
}

export function workshopRoutes(opts: { store: DurableStore; service: WorkshopService; basePath: string; log: Logger; joinsPerAddressPerMinute?: number }): Router {
  const { store, service, log } = opts;
  const router = Router();
  // Join attempts (right link or not) per client address: a room behind one NAT joins well
  // under the default; a script hammering the route is told to wait.
  const joins = new RateWindow({ max: opts.joinsPerAddressPerMinute ?? 300, windowMs: 60_000 });
  router.use(express.json({ limit: '4kb' }));

  // ---- attendee: the join link (#/join/<token>) ----

  const attendeeOf = (req: Request, workshopId: string) => {
    const id = readSessionCookie(req.headers.cookie);
    const rec = id === undefined ? undefined : store.sessions.record(id);
    return rec?.role === 'attendee' && rec.workshopId === workshopId ? rec : undefined;
  };

  router.get('/join/:token', (req, res) => {
    const w = store.workshops.byToken(req.params.token);
    if (!w) {
      sendApiError(res, 404, 'not-found', 'this join link is not valid; ask your instructor for the link again');
      return;
    }
    const me = attendeeOf(req, w.id);
    res.json({ labId: w.labId, labTitle: service.info(w).labTitle, state: service.state(w), expiresAt: w.expiresAt, you: me ? { name: me.displayName } : null });
  });

  router.post('/join/:token', (req, res) => {
    // req.ip: the real client behind a configured trusted proxy, else the socket's peer.
    const ip = req.ip ?? req.socket.remoteAddress;
    const waitMs = joins.take(addressKey(ip));
    if (waitMs > 0) {
      log.warn({ ip }, 'join refused: too many attempts from this address');
      res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
      sendApiError(res, 429, 'too-many-attempts', `too many join attempts from your address (at most ${joins.max} a minute); try again in ${waitText(waitMs)}`);
      return;
    }
    const w = store.workshops.byToken(req.params.token);
    if (!w) {
      log.warn({ ip: req.socket.remoteAddress }, 'join refused: unknown token');
      sendApiError(res, 404, 'not-found', 'this join link is not valid; ask your instructor for the link again');
      return;
    }
    // Reopened link, another tab: the same attendee, environment and progress.
    if (attendeeOf(req, w.id)) {
      res.json({ labId: w.labId, resumed: true });
      return;
    }
    const name = cleanDisplayName(field(req.body, 'name'));
    if (name === undefined) {
      sendApiError(res, 400, 'bad-request', 'enter a name of 1 to 40 characters');
      return;
    }
    const outcome = service.join(req.params.token, name);
    if (!outcome) {
      sendApiError(res, 404, 'not-found', 'this join link is not valid');
      return;
    }
    if (!outcome.ok) {
      log.info({ workshop: w.id, reason: outcome.reason }, 'join refused');
      if (outcome.reason === 'full') sendApiError(res, 409, 'workshop-full', `this workshop is full (${w.capacity} attendees); ask your instructor`);
      else sendApiError(res, 410, 'workshop-ended', outcome.reason === 'expired' ? 'this workshop has expired' : 'this workshop has ended');
      return;
    }
    res.setHeader('Set-Cookie', sessionCookieHeader(outcome.session.id, opts.basePath, req.secure));
    res.status(201).json({ labId: w.labId, resumed: false });
  });

  // ---- instructor ----

  const admin = Router();
  admin.use(requireInstructor(store.sessions, log));
  admin.get('/', (_req, res) => {
    res.json(service.list());
  });
  admin.post('/', (req, res) => {
    try {
      res.status(201).json(
        service.create({
          labId: typeof field(req.body, 'labId') === 'string' ? (field(req.body, 'labId') as string) : '',
          capacity: Number(field(req.body, 'capacity')),
          minutes: Number(field(req.body, 'minutes')),
        }),
      );
    } catch (e) {
      fail(res, e);
    }
  });
  admin.get('/:id', (req, res) => {
    try {
      res.json(service.snapshot(req.params.id));
    } catch (e) {
      fail(res, e);
    }
  });
  admin.post('/:id/extend', (req, res) => {
    try {
      res.json(service.extend(req.params.id, Number(field(req.body, 'minutes'))));
    } catch (e) {
      fail(res, e);
    }
  });
  admin.post('/:id/end', async (req, res) => {
    try {
      res.json(await service.end(req.params.id));
    } catch (e) {
      fail(res, e);
    }
  });
  admin.post('/:id/attendees/:attendee/reset', async (req, res) => {
    try {
      await service.reset(req.params.id, req.params.attendee);
      res.status(204).end();
    } catch (e) {
      fail(res, e);
    }
  });
  router.use('/workshops', admin);

  return router;
}
