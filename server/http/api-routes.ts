// The JSON API under {base}api/: the lab list, one lab's attendee view, and a health probe.
// Lab views never contain checks or solves (see toLabView in common/lab.ts).
import { Router } from 'express';
import { API } from '../../common/http-api.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { sendApiError } from './api-error.ts';
import { readParams, sendAnswer } from './api-input.ts';
import type { LabViewSource } from './lab-source.ts';
import { requireSession, sessionFor } from './require-session.ts';

export function apiRoutes(labs: LabViewSource, sessions: SessionStore): Router {
  const router = Router();

  // Public on purpose: reverse proxies and service managers probe it without a session; it says nothing.
  router.get(API.health.path, (_req, res) => {
    sendAnswer(res, API.health, { status: 'ok' });
  });

  router.use(requireSession(sessions));

  router.get(API.labs.path, (_req, res) => {
    sendAnswer(res, API.labs, labs.list());
  });

  router.get(API.lab.path, (req, res) => {
    const params = readParams(API.lab, req, res);
    if (!params) return;
    const { id } = params;
    const view = labs.viewFor ? labs.viewFor(sessionFor(req).id, id) : labs.view(id);
    if (view) {
      sendAnswer(res, API.lab, view);
      return;
    }
    const summary = labs.list().find((l) => l.id === id);
    if (summary && !summary.ok) {
      sendApiError(res, 409, 'lab-broken', `lab "${id}" has ${summary.problems.length} problem(s); see the lab list`);
      return;
    }
    sendApiError(res, 404, 'not-found', `no lab "${id}"`);
  });

  router.use((_req, res) => {
    sendApiError(res, 404, 'not-found', 'no such API route');
  });

  return router;
}
