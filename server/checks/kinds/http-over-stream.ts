// One HTTP/1.1 GET over a stream the caller opened — a loopback TCP socket, or an SSH direct-tcpip
// channel to a lab host — with TLS on top for https: how an http check asks "from the server".
import { request } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { socketLike } from '../../ssh/stream-socket.ts';

export interface HttpAnswer {
  status: number;
  /** At most `maxBody` bytes of the body, as UTF-8. */
  text: string;
  /** The body had more than `maxBody` bytes; the rest was never read. */
  cut: boolean;
}

/** A URL's hostname without IPv6 brackets ("[::1]" → "::1"). */
export const bareHost = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1');

/** The URL's port, or its scheme's default. */
export const urlPort = (url: URL): number => (url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);

/**
 * GETs `url` over `stream`, which the caller opened to the URL's host and port. The Host header,
 * and for https the TLS server name and the name the certificate must carry, are the URL's own
 * host, whatever address the stream reached. At most `maxBody` bytes of the body are read, then the
 * connection is dropped. Redirects are answers, never followed. Rejects on a connection, TLS or
 * protocol error, or when `signal` aborts; the stream is always destroyed when this settles.
 */
export function getOver(stream: Duplex, url: URL, opts: { maxBody: number; signal: AbortSignal }): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const name = bareHost(url.hostname);
    const sock: Duplex =
      url.protocol === 'https:'
        ? // The name checked against the certificate is `host` (an IP URL checks the certificate's IP entries; SNI carries names only).
          tlsConnect({ socket: socketLike(stream), host: name, ...(isIP(name) === 0 ? { servername: name } : {}) })
        : socketLike(stream);
    let settled = false;
    const finish = (e: Error | undefined, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      req.destroy();
      sock.destroy();
      stream.destroy();
      if (e || !answer) reject(e ?? new Error('no answer'));
      else resolve(answer);
    };
    const onAbort = (): void => finish(new Error('aborted'));
    const req = request({
      createConnection: () => sock,
      method: 'GET',
      path: `${url.pathname}${url.search}`,
      headers: { Host: url.host, 'User-Agent': 'labwright-check', Accept: '*/*' },
    });
    req.on('error', (e) => finish(e));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        if (settled) return;
        if (size + d.length > opts.maxBody) {
          parts.push(d.subarray(0, opts.maxBody - size));
          finish(undefined, { status, text: Buffer.concat(parts).toString('utf8'), cut: true });
          return;
        }
        parts.push(d);
        size += d.length;
      });
      res.on('end', () => finish(undefined, { status, text: Buffer.concat(parts).toString('utf8'), cut: false }));
      res.on('error', (e) => finish(e));
      res.on('close', () => finish(new Error('the connection closed before the body ended')));
    });
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}
