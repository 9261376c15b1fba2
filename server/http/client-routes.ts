// Serves the built browser app (dist/client). The page itself ({base}) is where a visitor gets a
// session: the first load sets the session cookie that every API call and the WebSocket require.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { sessionCookieHeader, sessionOf } from '../sessions/session-cookie.ts';
import type { SessionStore } from '../sessions/session-store.ts';

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Labwright</title>
<p>The browser app is not built yet: run <code>npm run build</code> (or <code>npm start</code>) and reload.</p>`;

export function clientRoutes(clientDir: string, basePath: string, sessions: SessionStore): Router {
  const router = Router();
  const indexFile = path.join(clientDir, 'index.html');
  // Read once: the build does not change under a running server, and a missing build is reported, not thrown.
  const indexHtml = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined;

  router.get('/', async (req, res) => {
    if (!(await sessionOf(req, sessions))) {
      const session = await sessions.create();
      res.setHeader('Set-Cookie', sessionCookieHeader(session.id, basePath, req.secure));
    }
    res.setHeader('Cache-Control', 'no-store');
    if (indexHtml === undefined) {
      res.status(503).type('html').send(NOT_BUILT);
      return;
    }
    res.type('html').send(indexHtml);
  });

  // Hashed asset names change with their content, so they may be cached for good.
  router.use(
    '/assets',
    express.static(path.join(clientDir, 'assets'), { index: false, immutable: true, maxAge: '1y', fallthrough: true }),
  );
  router.use(express.static(clientDir, { index: false, fallthrough: true }));
  return router;
}
