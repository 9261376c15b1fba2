// A small typed client for LXD's REST API: over the daemon's unix socket locally, or HTTPS with a client
// certificate for a remote LXD (or cluster). Background operations are waited for, errors carry LXD's message.
import http from 'node:http';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import type { Readable } from 'node:stream';

/** Where the daemon listens: its unix socket, or an https:// URL with the client certificate it trusts. */
export type LxdEndpoint =
  | { socketPath: string }
  | {
      url: string;
      /** PEM client certificate and key (added to the server's trust store beforehand). */
      cert: string;
      key: string;
      /** PEM of the server's certificate (pinned) or CA; without it the system's CAs must vouch for the server. */
      serverCert?: string;
    };

/** Accepts the server whose certificate is exactly `pem`; any other gets the usual name check. */
function pinnedIdentity(pem: string): (host: string, cert: PeerCertificate) => Error | undefined {
  const pinned = new X509Certificate(pem).raw;
  return (host, cert) => (cert.raw.equals(pinned) ? undefined : tls.checkServerIdentity(host, cert));
}

/** What Node's TLS says when a server's certificate cannot be verified (a self-signed LXD without a pin). */
const TLS_TRUST_ERRORS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED']);

export class LxdError extends Error {
  override name = 'LxdError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The envelope every LXD answer comes in. */
interface LxdResponse<T> {
  type: 'sync' | 'async' | 'error';
  status_code: number;
  error?: string;
  error_code?: number;
  operation?: string;
  metadata: T;
}

export interface LxdOperation {
  id: string;
  status: string;
  status_code: number;
  err: string;
  metadata: Record<string, unknown> | null;
}

export interface RequestOptions {
  /** JSON body, or a stream sent as is (image upload). */
  body?: unknown;
  stream?: Readable;
  headers?: Record<string, string>;
  /** Raw text answer (file contents) instead of the JSON envelope. */
  raw?: boolean;
  timeoutMs?: number;
}

export class LxdClient {
  private readonly agent: http.Agent;

  constructor(readonly endpoint: LxdEndpoint) {
    this.agent =
      'socketPath' in endpoint
        ? new http.Agent({ keepAlive: true, maxSockets: 16 })
        : new https.Agent({
            keepAlive: true,
            maxSockets: 16,
            cert: endpoint.cert,
            key: endpoint.key,
            // Never unverified: the client certificate and every host's files go over this connection.
            ...(endpoint.serverCert !== undefined ? { ca: endpoint.serverCert } : {}),
            rejectUnauthorized: true,
            // LXD's certificate names no address (a cluster's is shared by every member): the one
            // given is pinned, as `lxc remote add` does, whatever address the member answers on.
            ...(endpoint.serverCert !== undefined ? { checkServerIdentity: pinnedIdentity(endpoint.serverCert) } : {}),
          });
  }

  /** Closes idle keep-alive connections (so a CLI process can exit). */
  close(): void {
    this.agent.destroy();
  }

  /** One request; resolves to the answer's metadata (sync) or the operation it started (async, not waited for). */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<{ metadata: T; operation?: string; raw?: string }> {
    const { status, text } = await this.send(method, path, opts);
    if (opts.raw && status < 400) return { metadata: undefined as T, raw: text };
    let parsed: LxdResponse<T>;
    try {
      parsed = JSON.parse(text) as LxdResponse<T>;
    } catch {
      throw new LxdError(status, `LXD ${method} ${path}: HTTP ${status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (parsed.type === 'error' || status >= 400) throw new LxdError(parsed.error_code ?? status, `LXD ${method} ${path}: ${parsed.error ?? `HTTP ${status}`}`);
    return { metadata: parsed.metadata, operation: parsed.operation };
  }

  /** GET → metadata. */
  async get<T = unknown>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).metadata;
  }

  /** A request that may start a background operation: waits for it and throws when it fails. */
  async call<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const r = await this.request<T>(method, path, opts);
    if (!r.operation) return r.metadata;
    const op = await this.waitOperation(r.operation, opts.timeoutMs);
    return (op.metadata ?? r.metadata) as T;
  }

  /** Waits for an operation (its URL or id) to finish; throws with LXD's error when it failed. */
  async waitOperation(operation: string, timeoutMs = 120_000): Promise<LxdOperation> {
    // A cluster member answers "/1.0/operations/<id>?project=default": the id is the part before the query.
    const id = operation.replace(/^.*\/operations\//, '').replace(/\?.*$/, '');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
      const op = await this.get<LxdOperation>(`/1.0/operations/${encodeURIComponent(id)}/wait?timeout=${Math.min(left, 30)}`);
      // 200 Success; 400 Failure, 401 Cancelled; 103 Running / 105 Pending keep waiting.
      if (op.status_code === 200) return op;
      if (op.status_code >= 400) throw new LxdError(op.status_code, `LXD operation ${op.status}: ${op.err || 'no reason given'}`);
      if (Date.now() >= deadline) throw new LxdError(408, `LXD operation ${id} still ${op.status} after ${timeoutMs} ms`);
    }
  }

  /** True when the path exists (404 → false; any other error throws). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.get(path);
      return true;
    } catch (e) {
      if (e instanceof LxdError && e.status === 404) return false;
      throw e;
    }
  }

  private send(method: string, path: string, opts: RequestOptions): Promise<{ status: number; text: string }> {
    const ep = this.endpoint;
    const headers: Record<string, string> = { ...opts.headers };
    let payload: string | Buffer | undefined;
    if (opts.body !== undefined) {
      if (Buffer.isBuffer(opts.body) || typeof opts.body === 'string') {
        payload = opts.body;
        headers['Content-Type'] ??= 'application/octet-stream';
      } else {
        payload = JSON.stringify(opts.body);
        headers['Content-Type'] = 'application/json';
      }
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const base = { method, path, headers, agent: this.agent, timeout: opts.timeoutMs ?? 120_000 };
      const onResponse = (res: http.IncomingMessage): void => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      };
      let req: http.ClientRequest;
      if ('socketPath' in ep) {
        req = http.request({ ...base, socketPath: ep.socketPath, host: 'lxd' }, onResponse);
      } else {
        const u = new URL(ep.url);
        req = https.request({ ...base, host: u.hostname, port: u.port || 8443 }, onResponse);
      }
      req.on('timeout', () => req.destroy(new LxdError(408, `LXD ${method} ${path}: no answer in ${base.timeout} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof LxdError) reject(e);
        else if (!('socketPath' in ep) && TLS_TRUST_ERRORS.has(e.code ?? ''))
          reject(new LxdError(495, `LXD ${ep.url}: its certificate is not trusted (${e.code}): give it in LABWRIGHT_LXD_SERVER_CERT (on the LXD server: /var/lib/lxd/cluster.crt or server.crt; lxc info shows it)`));
        else reject(new LxdError(503, `LXD ${method} ${path}: ${'socketPath' in ep ? `socket ${ep.socketPath}` : ep.url}: ${e.code ?? e.message}`));
      });
      if (opts.stream) {
        opts.stream.on('error', (e) => req.destroy(e));
        opts.stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }
}
