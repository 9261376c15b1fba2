// HTTP routes of workshop mode under {base}api/: the instructor's (create, list, snapshot,
// extend, end, reset an attendee; instructor login required) and the attendee's join link.
// Paths, parameters and bodies are the API contract's (common/http-api.ts), validated on entry.
import { Router } from 'express';
import type { ErrorRequestHandler, Request } from 'express';
import { API } from '../../common/http-api.ts';
import { progressCsv } from '../../common/workshop-export.ts';
import { requireInstructor } from '../auth/require-instructor.ts';
import { sendApiError } from '../http/api-error.ts';
import { jsonBody, readBody, readParams, sendAnswer } from '../http/api-input.ts';
import type { Logger } from '../log.ts';
import { RateWindow, addressKey, waitText } from '../sessions/rate-window.ts';
import { readSessionCookie, sessionCookieHeader } from '../sessions/session-cookie.ts';
import type { DurableStore } from '../store/durable-store.ts';
import { WorkshopError } from './workshop-service.ts';
import { CatchUpError } from '../catchup/catch-up-service.ts';
import type { CatchUpService } from '../catchup/catch-up-service.ts';
import type { WorkshopService } from './workshop-service.ts';

/**
 * The routes' one error answer: what the service refuses (a WorkshopError, thrown or rejected —
 * express 5 forwards both) becomes its status and code; anything else goes on to the app's
 * last-resort handler (storage 503, else 500).
 */
const workshopErrors: ErrorRequestHandler = (e: unknown, _req, res, next) => {
  if (!(e instanceof WorkshopError)) {
    next(e);
    return;
  }
  const status = e.code === 'not-found' ? 404 : e.code === 'workshop-ended' ? 410 : e.code === 'conflict' ? 409 : 400;
  sendApiError(res, status, e.code, e.message);
};

export function workshopRoutes(opts: { store: DurableStore; service: WorkshopService; catchUp: CatchUpService; basePath: string; log: Logger; joinsPerAddressPerMinute?: number }): Router {
  const { store, service, log } = opts;
  const router = Router();
  // Join attempts (right link or not) per client address: a room behind one NAT joins well
  // under the default; a script hammering the route is told to wait.
  const joins = new RateWindow({ max: opts.joinsPerAddressPerMinute ?? 300, windowMs: 60_000 });
  router.use(jsonBody());

  // ---- attendee: the join link (#/join/<token>) ----

  const attendeeOf = (req: Request, workshopId: string) => {
    const id = readSessionCookie(req.headers.cookie);
    const rec = id === undefined ? undefined : store.sessions.record(id);
    return rec?.role === 'attendee' && rec.workshopId === workshopId ? rec : undefined;
  };

  router.get(API.joinInfo.path, (req, res) => {
    const params = readParams(API.joinInfo, req, res);
    if (!params) return;
    const w = store.workshops.byToken(params.token);
    if (!w) {
      sendApiError(res, 404, 'not-found', 'this join link is not valid; ask your instructor for the link again');
      return;
    }
    const me = attendeeOf(req, w.id);
    sendAnswer(res, API.joinInfo, { labId: w.labId, labTitle: service.info(w).labTitle, state: service.state(w), expiresAt: w.expiresAt, you: me ? { name: me.displayName ?? '' } : null });
  });

  router.post(API.join.path, (req, res) => {
    // req.ip: the real client behind a configured trusted proxy, else the socket's peer.
    const ip = req.ip ?? req.socket.remoteAddress;
    const waitMs = joins.take(addressKey(ip));
    if (waitMs > 0) {
      log.warn({ ip }, 'join refused: too many attempts from this address');
      res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
      sendApiError(res, 429, 'too-many-attempts', `too many join attempts from your address (at most ${joins.max} a minute); try again in ${waitText(waitMs)}`);
      return;
    }
    const params = readParams(API.join, req, res);
    if (!params) return;
    const w = store.workshops.byToken(params.token);
    if (!w) {
      log.warn({ ip }, 'join refused: unknown token');
      sendApiError(res, 404, 'not-found', 'this join link is not valid; ask your instructor for the link again');
      return;
    }
    // Reopened link, another tab: the same attendee, environment and progress.
    if (attendeeOf(req, w.id)) {
      sendAnswer(res, API.join, { labId: w.labId, resumed: true });
      return;
    }
    // Read only now: a returning attendee (above) needs no name.
    const body = readBody(API.join, req, res);
    if (!body) return;
    const outcome = service.join(params.token, body.name);
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
    sendAnswer(res, API.join, { labId: w.labId, resumed: false }, 201);
  });

  // ---- instructor ----

  // Everything under /workshops is the instructor's; the guard runs before any of it.
  router.use('/workshops', requireInstructor(store.sessions, log));
  router.get(API.workshops.path, (_req, res) => {
    sendAnswer(res, API.workshops, service.list());
  });
  router.post(API.createWorkshop.path, (req, res) => {
    const spec = readBody(API.createWorkshop, req, res);
    if (!spec) return;
    sendAnswer(res, API.createWorkshop, service.create(spec), 201);
  });
  router.get(API.workshop.path, (req, res) => {
    const params = readParams(API.workshop, req, res);
    if (!params) return;
    sendAnswer(res, API.workshop, service.snapshot(params.id));
  });
  router.post(API.extendWorkshop.path, (req, res) => {
    const params = readParams(API.extendWorkshop, req, res);
    const body = params && readBody(API.extendWorkshop, req, res);
    if (!params || !body) return;
    sendAnswer(res, API.extendWorkshop, service.extend(params.id, body.minutes));
  });
  router.post(API.endWorkshop.path, async (req, res) => {
    const params = readParams(API.endWorkshop, req, res);
    if (!params) return;
    sendAnswer(res, API.endWorkshop, await service.end(params.id));
  });
  router.post(API.setBootAhead.path, (req, res) => {
    const params = readParams(API.setBootAhead, req, res);
    const body = params && readBody(API.setBootAhead, req, res);
    if (!params || !body) return;
    sendAnswer(res, API.setBootAhead, service.setBootAhead(params.id, body.on));
  });
  router.post(API.moveWorkshop.path, (req, res) => {
    const params = readParams(API.moveWorkshop, req, res);
    if (!params) return;
    sendAnswer(res, API.moveWorkshop, service.moveToFile(params.id));
  });
  router.post(API.catchUp.path, (req, res) => {
    const params = readParams(API.catchUp, req, res);
    const body = params && readBody(API.catchUp, req, res);
    if (!params || !body) return;
    try {
      sendAnswer(res, API.catchUp, opts.catchUp.start(params.id, body.step, body.attendee), 202);
    } catch (e) {
      if (!(e instanceof CatchUpError)) throw e;
      throw new WorkshopError(e.code, e.message);
    }
  });
  router.get(API.exportWorkshop.path, (req, res) => {
    const params = readParams(API.exportWorkshop, req, res);
    if (!params) return;
    const data = service.progressExport(params.id);
    const csv = req.query['format'] === 'csv';
    // A download named after the lab and the day, not shown inline.
    const name = `${data.workshop.labId}-${data.workshop.exportedAt.slice(0, 10)}-progress.${csv ? 'csv' : 'json'}`;
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    res.setHeader('Cache-Control', 'no-store');
    if (csv) {
      res.type('text/csv; charset=utf-8').send(progressCsv(data));
      return;
    }
    sendAnswer(res, API.exportWorkshop, data);
  });
  router.post(API.resetAttendee.path, async (req, res) => {
    const params = readParams(API.resetAttendee, req, res);
    if (!params) return;
    await service.reset(params.id, params.attendee);
    sendAnswer(res, API.resetAttendee);
  });

  router.post(API.resetAttendeeStep.path, async (req, res) => {
    const params = readParams(API.resetAttendeeStep, req, res);
    if (!params) return;
    sendAnswer(res, API.resetAttendeeStep, await service.resetStep(params.id, params.attendee));
  });

  router.use(workshopErrors);
  return router;
}
