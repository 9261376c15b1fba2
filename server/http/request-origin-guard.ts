// The app acts only for its own pages: a request that could change something (any method but GET,
// HEAD, OPTIONS) and every API call must come from one of the origins the server serves. Browsers
// say where a request came from (Origin, Sec-Fetch-Site); a preview origin (`x.preview.localhost`
// counts as the same site as `localhost`) or any other page is refused, whatever cookies it carries.
import type { RequestHandler } from 'express';
import type { EdgeGuard } from './edge-guard.ts';
import { sendApiError } from './api-error.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function requestOriginGuard(edge: () => EdgeGuard | undefined, basePath: string): RequestHandler {
  const api = `${basePath}api/`;
  return (req, res, next) => {
    const guarded = !SAFE.has(req.method) || req.path.startsWith(api);
    if (!guarded) {
      next();
      return;
    }
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    // No Origin and no Sec-Fetch-Site: not a browser page (curl, a test, a monitoring probe), so no viewer's cookie rides along.
    const foreignSite = site === 'cross-site' || site === 'same-site';
    const foreignOrigin = origin !== undefined && !(edge()?.hosts.allowsOrigin(origin) ?? false);
    if (foreignSite || foreignOrigin) {
      res.setHeader('Vary', 'Origin');
      sendApiError(res, 403, 'forbidden', 'this request came from another site’s page (a preview, say): Labwright acts only for its own pages');
      return;
    }
    next();
  };
}
