// Test helpers for the edge: HTTP requests and WebSocket upgrades with a chosen Host header, source
// address and TLS trust (fetch cannot set Host), answering with the status, headers and body.
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { WebSocket } from 'ws';

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Local address to connect from, e.g. 127.0.0.3 (any 127/8 address is this machine). */
  localAddress?: string;
  /** For https: the CA to trust and the TLS server name. */
  ca?: string;
  servername?: string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function rawRequest(url: string, opts: RawOptions = {}): Promise<RawResponse> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: opts.method ?? 'GET',
        headers: { ...(opts.body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
        agent: false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.servername ? { servername: opts.servername } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface UpgradeResult {
  /** 101 when the WebSocket opened, else the refusal's HTTP status. */
  status: number;
  /** The refusal's body, if any. */
  body: string;
  /** The open socket (status 101); the caller closes it. */
  ws?: WebSocket;
}

/** Tries a WebSocket upgrade; resolves once it opened or was refused. */
export function tryUpgrade(url: string, opts: RawOptions = {}): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: opts.headers ?? {},
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.servername ? { servername: opts.servername } : {}),
    });
    ws.once('open', () => resolve({ status: 101, body: '', ws }));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        ws.terminate();
      });
    });
    ws.once('error', reject);
  });
}
