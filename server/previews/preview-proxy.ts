// Serves the preview origins: a request whose Host is `<token>.<suffix>` never reaches the app. It
// exchanges a one-time ticket for the preview's cookie, then proxies HTTP and WebSockets to
// HOST:PORT through the environment's SSH connection. The app's cookies never go upstream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { SESSION_COOKIE } from '../sessions/session-cookie.ts';
import { socketLike } from '../ssh/stream-socket.ts';
import type { PreviewGrant, PreviewGrants } from './preview-grants.ts';
import { sameSecret } from './preview-grants.ts';
import type { PreviewNames } from './preview-names.ts';
import { isPreviewHost, previewOrigin, previewTokenOf } from './preview-names.ts';

export const PREVIEW_COOKIE = 'labwright_preview';
/** The path on a preview origin where a ticket is exchanged for the cookie. */
export const ENTER_PATH = '/__labwright/enter';

/** Why a grant no longer opens its preview, as the page says it. */
export interface PreviewRefusal {
  status: 403 | 404 | 410 | 421 | 502;
  title: string;
  message: string;
}

export interface PreviewProxyOptions {
  names: PreviewNames;
  grants: PreviewGrants;
  /** Is the grant still good now (viewer's session, role, the owner's current environment)? */
  verify(g: PreviewGrant): Promise<PreviewRefusal | undefined>;
  /** A TCP stream to the grant's HOST:PORT through its host's SSH connection; rejects when nothing answers there. */
  open(g: PreviewGrant): Promise<Duplex>;
  log: Logger;
}

export interface PreviewProxy {
  /** Whether this request is for a preview origin (then it is the proxy's, never the app's). */
  handles(req: IncomingMessage): boolean;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page for a refusal: the preview's own origin shows Labwright's words, not a blank 502. */
function refusalPage(r: PreviewRefusal): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(r.title)}</title></head>` +
    `<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">` +
    `<h1>${escapeHtml(r.title)}</h1><p>${escapeHtml(r.message)}</p><p style="color:#666">Labwright preview</p></body></html>`
  );
}

const REFUSAL_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function sendRefusal(res: ServerResponse, r: PreviewRefusal): void {
  const body = refusalPage(r);
  res.writeHead(r.status, { ...REFUSAL_HEADERS, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function refuseUpgrade(socket: Duplex, r: PreviewRefusal): void {
  const body = refusalPage(r);
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${r.status} Refused\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export const UNKNOWN_PREVIEW: PreviewRefusal = {
  status: 421,
  title: 'No such preview',
  message: 'This preview address is not one this server handed out, or it has ended (the lab hosts were reset or removed, or the server restarted). Open the preview again from the lab page.',
};
export const ENDED_PREVIEW: PreviewRefusal = {
  status: 410,
  title: 'This preview has ended',
  message: 'The lab hosts behind this preview were reset or removed (or the workshop ended). Open the preview again from the lab page if the lab is still running.',
};
const NO_CAPABILITY: PreviewRefusal = {
  status: 403,
  title: 'Not your preview',
  message: 'This browser has no access to this preview. Previews open only for the attendee whose lab hosts run the service (and their instructor): use the Open preview button on the lab page.',
};
const BAD_TICKET: PreviewRefusal = {
  status: 403,
  title: 'This preview link has expired',
  message: 'A preview link works once, within a minute. Open the preview again from the lab page.',
};

/** The Cookie header without Labwright's own cookies (the app's session, the preview's capability). */
export function upstreamCookies(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => {
      const name = p.slice(0, Math.max(0, p.indexOf('='))).trim();
      return p !== '' && name !== PREVIEW_COOKIE && name !== SESSION_COOKIE;
    });
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/** Every value of the preview cookie (another preview of the same site may have planted one more). */
function previewCookies(header: string | undefined): string[] {
  const out: string[] = [];
  for (const p of (header ?? '').split(';')) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim() === PREVIEW_COOKIE) out.push(p.slice(eq + 1).trim());
  }
  return out;
}

/** A Set-Cookie from the service, made host-only: it may not reach the app or other previews. */
export function hostOnlyCookie(value: string): string {
  return value
    .split(';')
    .filter((a, i) => i === 0 || !/^\s*domain\s*=/i.test(a))
    .join(';');
}

export function createPreviewProxy(opts: PreviewProxyOptions): PreviewProxy {
  const { names, grants, log } = opts;

  /** The grant for this request's Host and cookie, or why there is none. */
  async function authorise(req: IncomingMessage): Promise<{ grant: PreviewGrant } | { refusal: PreviewRefusal }> {
    const token = previewTokenOf(names, req.headers.host);
    const grant = token === undefined ? undefined : grants.byToken(token);
    if (!grant) return { refusal: token !== undefined && grants.ended(token) ? ENDED_PREVIEW : UNKNOWN_PREVIEW };
    if (!previewCookies(req.headers.cookie).some((v) => sameSecret(v, grant.secret))) return { refusal: NO_CAPABILITY };
    const refused = await opts.verify(grant);
    return refused ? { refusal: refused } : { grant };
  }

  function notAnswering(g: PreviewGrant): PreviewRefusal {
    return {
      status: 502,
      title: `${g.host}:${g.port} is not answering`,
      message: `Nothing answers on port ${g.port} of ${g.host} yet. Start the service (see the lab's step), then reload this page.`,
    };
  }

  function enter(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const token = previewTokenOf(names, req.headers.host);
    const ticket = url.searchParams.get('ticket') ?? '';
    const grant = token === undefined ? undefined : grants.redeem(token, ticket);
    if (!grant) {
      log.warn({ host: req.headers.host ?? null }, 'preview ticket refused (forged, used or expired)');
      sendRefusal(res, token !== undefined && grants.byToken(token) ? BAD_TICKET : UNKNOWN_PREVIEW);
      return;
    }
    const cookie = [`${PREVIEW_COOKIE}=${grant.secret}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
    if (names.scheme === 'https') cookie.push('Secure');
    res.writeHead(303, { Location: '/', 'Set-Cookie': cookie.join('; '), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Length': 0 });
    res.end();
  }

  function upstreamHeaders(req: IncomingMessage, keepUpgrade: boolean): [string, string][] {
    const out: [string, string][] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] ?? '';
      const lower = name.toLowerCase();
      if (lower === 'cookie') continue;
      if (lower.startsWith('x-forwarded-') || lower === 'forwarded') continue;
      if (HOP_BY_HOP.has(lower) && !(keepUpgrade && (lower === 'connection' || lower === 'upgrade'))) continue;
      out.push([name, raw[i + 1] ?? '']);
    }
    const cookies = upstreamCookies(req.headers.cookie);
    if (cookies !== undefined) out.push(['Cookie', cookies]);
    out.push(['X-Forwarded-Proto', names.scheme], ['X-Forwarded-Host', req.headers.host ?? '']);
    return out;
  }

  async function proxyRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://preview.invalid');
    if (url.pathname === ENTER_PATH) {
      enter(req, res, url);
      return;
    }
    const a = await authorise(req);
    if ('refusal' in a) {
      sendRefusal(res, a.refusal);
      return;
    }
    const g = a.grant;
    // A page of another site (another preview too) may not make this one change state with the viewer's cookie.
    const site = req.headers['sec-fetch-site'];
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    if (!safe && (site === 'cross-site' || site === 'same-site')) {
      sendRefusal(res, { status: 403, title: 'Refused', message: 'A page of another site may not send this preview a request that changes something.' });
      return;
    }
    let stream: Duplex;
    try {
      stream = socketLike(await opts.open(g));
    } catch {
      sendRefusal(res, notAnswering(g));
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of upstreamHeaders(req, false)) {
      const prev = headers[k];
      headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const up = httpRequest({ method: req.method, path: req.url, headers, createConnection: () => stream });
    up.on('response', (r) => {
      const out: [string, string][] = [];
      const raw = r.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = raw[i] ?? '';
        const lower = name.toLowerCase();
        if (HOP_BY_HOP.has(lower)) continue;
        const v = raw[i + 1] ?? '';
        out.push([name, lower === 'set-cookie' ? hostOnlyCookie(v) : v]);
      }
      res.writeHead(r.statusCode ?? 502, r.statusMessage, out.flat());
      r.pipe(res);
      r.on('error', () => res.destroy());
    });
    up.on('error', (e) => {
      log.info({ host: g.host, port: g.port, err: e.message }, 'preview upstream failed');
      if (!res.headersSent) sendRefusal(res, notAnswering(g));
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
      stream.destroy();
    });
    req.pipe(up);
  }

  async function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const a = await authorise(req);
    if ('refusal' in a) {
      refuseUpgrade(socket, a.refusal);
      return;
    }
    const g = a.grant;
    // Only the preview's own pages may open its sockets (a page of another preview is the same site).
    if (req.headers.origin !== previewOrigin(names, g.token)) {
      log.warn({ origin: req.headers.origin ?? null }, 'preview WebSocket refused: foreign origin');
      refuseUpgrade(socket, { status: 403, title: 'Refused', message: 'Only the preview’s own pages may open its WebSockets.' });
      return;
    }
    let stream: Duplex;
    try {
      stream = await opts.open(g);
    } catch {
      refuseUpgrade(socket, notAnswering(g));
      return;
    }
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`, ...upstreamHeaders(req, true).map(([k, v]) => `${k}: ${v}`)];
    stream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) stream.write(head);
    const done = (): void => {
      socket.destroy();
      stream.destroy();
    };
    socket.on('error', done);
    stream.on('error', done);
    socket.on('close', done);
    stream.on('close', done);
    socket.pipe(stream);
    stream.pipe(socket);
  }

  return {
    handles: (req) => isPreviewHost(names, req.headers.host),
    handleRequest(req, res) {
      proxyRequest(req, res).catch((e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'preview request failed');
        if (!res.headersSent) sendRefusal(res, { status: 502, title: 'Preview failed', message: 'The preview could not be served; try again.' });
        else res.destroy();
      });
    },
    handleUpgrade(req, socket, head) {
      proxyUpgrade(req, socket, head).catch(() => socket.destroy());
    },
  };
}
