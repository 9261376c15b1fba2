// Which Origins may open a WebSocket: the page's own host, or an origin the operator configured
// (a reverse proxy that rewrites Host). A missing Origin is refused: browsers always send one.
import type { IncomingMessage } from 'node:http';

export function isAllowedOrigin(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return false;
  if (allowedOrigins.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  return req.headers.host !== undefined && host.toLowerCase() === req.headers.host.toLowerCase();
}
