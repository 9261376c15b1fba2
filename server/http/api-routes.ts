// The JSON API under {base}api/: the lab list, one lab's attendee view, and a health probe.
// Lab views never contain checks or solves (see toLabView in common/lab.ts).
import { Router } from 'express';
import type { SessionStore } from '../sessions/session-store.ts';
import { sendApiError } from './api-error.ts';
import type { LabViewSource } from './lab-source.ts';
import { isLabId } from './lab-source.ts';
import { requireSession } from './require-session.ts';

export function apiRoutes(labs: LabViewSource, sessions: SessionStore): Router {
  const router = Router();

  // Public on purpose: reverse proxies and service managers probe it without a session; it says nothing.
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.use(requireSession(sessions));

  router.get('/labs', (_req, res) => {
    res.json(labs.list());
  });

  router.get('/labs/:id', (req, res) => {
    const id = req.params.id;
    if (!isLabId(id)) {
      sendApiError(res, 400, 'bad-request', 'a lab id is lower-case letters, digits and dashes');
      return;
    }
    const view = labs.view(id);
    if (view) {
      res.json(view);
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
