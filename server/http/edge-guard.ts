// The first check on every request and WebSocket upgrade: is it for a name this server serves
// (DNS rebinding), did an upgrade come from one of its own pages (Origin), and did it come through
// a proxy nobody declared while solo mode hands out hosts. Also answers "was this page served over
// https" for the cookie's Secure flag.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler } from 'express';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ApiErrorBody } from './api-error.ts';
import type { HostPolicy } from './host-policy.ts';
import { hostPolicy } from './host-policy.ts';
import { ProxyTrust } from './proxy-trust.ts';
import { soloMode } from './solo-mode.ts';

export interface Refusal {
  status: 403 | 421;
  body: ApiErrorBody;
}

export interface EdgeGuard {
  readonly hosts: HostPolicy;
  readonly proxies: ProxyTrust;
  /** Why this request or upgrade is refused, or undefined when it may go on. */
  refusal(req: IncomingMessage, upgrade: boolean): Refusal | undefined;
  readonly middleware: RequestHandler;
  /** Answers a refused upgrade on the raw socket and closes it. */
  refuseUpgrade(socket: Duplex, refusal: Refusal): void;
  /** https as the browser saw it: via a trusted proxy's X-Forwarded-Proto, or the name of an https public URL. */
  isSecure(req: Request): boolean;
}

/** Headers a reverse proxy adds; their presence means the request did not come straight from a browser. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host'];

export function edgeGuard(
  config: Readonly<Pick<Config, 'bind' | 'publicUrls' | 'trustedProxies' | 'solo' | 'allowedOrigins'>>,
  port: number,
  log: Logger,
  machine?: { addresses: readonly string[]; hostname: string },
): EdgeGuard {
  const hosts = hostPolicy({ bind: config.bind, port, publicUrls: config.publicUrls, extraOrigins: config.allowedOrigins, ...(machine ? { machine } : {}) });
  const proxies = new ProxyTrust(config.trustedProxies);
  // Solo mode decided from the binding alone cannot see a proxy nobody declared; its headers can.
  const soloByDefault = soloMode(config);
  const guardsUndeclaredProxy = soloByDefault.on && !soloByDefault.explicit;

  const refuse = (status: Refusal['status'], code: ApiErrorBody['error']['code'], message: string): Refusal => ({ status, body: { error: { code, message } } });

  function refusal(req: IncomingMessage, upgrade: boolean): Refusal | undefined {
    const host = req.headers.host;
    if (!hosts.allowsHost(host)) {
      log.warn({ host: host ?? null, path: (req.url ?? '').split('?')[0] }, 'refused: not a name this server serves');
      return refuse(
        421,
        'misdirected',
        `this server does not serve the name "${host ?? ''}": open it at the address it printed at start, or add the name with LABWRIGHT_PUBLIC_URL`,
      );
    }
    if (guardsUndeclaredProxy && FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined)) {
      log.warn({ host, peer: req.socket.remoteAddress }, 'refused: reached through a proxy while solo mode is on');
      return refuse(
        403,
        'forbidden',
        'this server runs in solo mode (hosts for anyone, no login) for its own machine only, and this request came through a proxy: ' +
          'set LABWRIGHT_PUBLIC_URL and LABWRIGHT_TRUSTED_PROXY (solo mode then turns off), or LABWRIGHT_SOLO=on to allow it',
      );
    }
    if (upgrade && !hosts.allowsOrigin(req.headers.origin)) {
      log.warn({ origin: req.headers.origin ?? null }, 'WebSocket refused: foreign origin');
      return refuse(403, 'forbidden', 'origin not allowed');
    }
    return undefined;
  }

  return {
    hosts,
    proxies,
    refusal,
    middleware: (req, res, next) => {
      const r = refusal(req, false);
      if (!r) {
        next();
        return;
      }
      res.setHeader('Connection', 'close');
      res.status(r.status).json(r.body);
    },
    refuseUpgrade(socket, r) {
      const body = JSON.stringify(r.body);
      const reason = r.status === 421 ? 'Misdirected Request' : 'Forbidden';
      socket.on('error', () => socket.destroy());
      socket.end(
        `HTTP/1.1 ${r.status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    },
    // req.protocol honours X-Forwarded-Proto only from a trusted proxy ("trust proxy" is set from the same list).
    isSecure: (req) => req.protocol === 'https' || hosts.isHttpsName(req.headers.host),
  };
}
