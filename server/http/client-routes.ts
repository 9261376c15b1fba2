// Serves the built browser app (dist/client). The page itself ({base}) is where a visitor gets a
// session: the first load sets the session cookie that every API call and the WebSocket require.
// That session costs no disk (the durable store keeps it in a bounded memory LRU until a lab is
// opened), and one client address may start only so many per minute: past that, 429.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import type { SessionLimits } from '../config.ts';
import { RateWindow, addressKey, waitText } from '../sessions/rate-window.ts';
import { sessionCookieHeader, sessionOf } from '../sessions/session-cookie.ts';
import type { SessionStore } from '../sessions/session-store.ts';

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Labwright</title>
<p>The browser app is not built yet: run <code>npm run build</code> (or <code>npm start</code>) and reload.</p>`;

const tooMany = (limit: number, wait: string): string => `<!doctype html><meta charset="utf-8"><title>Labwright</title>
<p>Too many new sessions from your address (at most ${limit} a minute). Reload this page in ${wait}.</p>`;

export function clientRoutes(clientDir: string, basePath: string, sessions: SessionStore, limits?: Pick<SessionLimits, 'newPerAddressPerMinute'>): Router {
  const router = Router();
  const minted = limits ? new RateWindow({ max: limits.newPerAddressPerMinute, windowMs: 60_000 }) : undefined;
  const indexFile = path.join(clientDir, 'index.html');
  // Read once: the build does not change under a running server, and a missing build is reported, not thrown.
  const indexHtml = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined;

  router.get('/', async (req, res) => {
    if (!(await sessionOf(req, sessions))) {
      // Only requests without a valid cookie count: a visitor reloading their page never does.
      // req.ip: the real client behind a configured trusted proxy, else the socket's peer.
      const waitMs = minted?.take(addressKey(req.ip ?? req.socket.remoteAddress)) ?? 0;
      if (waitMs > 0) {
        res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
        res.setHeader('Cache-Control', 'no-store');
        res.status(429).type('html').send(tooMany(minted?.max ?? 0, waitText(waitMs)));
        return;
      }
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
