// Minimal SSH exec used to decide that a host is ready (the server's own SSH pool lives in server/;
// provisioning does not depend on it). Retries the connection while the host is still booting.
import http from 'node:http';
import { Client } from 'ssh2';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult } from '../exec-result.ts';

function connectOnce(address: string, privateKey: string, timeoutMs: number, port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    let settled = false;
    c.once('ready', () => {
      settled = true;
      resolve(c);
    });
    // ssh2 may emit more than one 'error' (e.g. a timeout, then "connection lost"); an unhandled one would
    // crash the whole process, so the listener stays for the client's lifetime.
    c.on('error', (e) => {
      if (settled) return;
      settled = true;
      c.end();
      reject(e);
    });
    c.connect({ host: address, port, username: 'root', privateKey, readyTimeout: timeoutMs, keepaliveInterval: 0 });
  });
}

/** Errors of a host still booting (nothing listening yet, sshd restarting); anything else (a bad key, auth refused) is final. */
function isTransient(e: unknown): boolean {
  const err = e as { code?: string; level?: string };
  return (
    ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE'].includes(err.code ?? '') ||
    ['client-timeout', 'client-socket', 'protocol'].includes(err.level ?? '')
  );
}

/** Connects as root, retrying every few ms until the deadline (the host's sshd may not be up yet). */
export async function connectWhenUp(address: string, privateKey: string, deadline: number, signal?: AbortSignal, port = 22): Promise<Client> {
  let last: unknown;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      return await connectOnce(address, privateKey, Math.max(1000, Math.min(5000, deadline - Date.now())), port);
    } catch (e) {
      if (!isTransient(e)) throw e;
      last = e;
      await sleep(40);
    }
  }
  throw new Error(`ssh to ${address} did not answer: ${last instanceof Error ? last.message : String(last)}`);
}

export function exec(c: Client, command: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${command.slice(0, 60)}`)), timeoutMs);
    c.exec(command, (err, ch) => {
      if (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      ch.setEncoding('utf8');
      ch.on('data', (d: string) => (stdout += d));
      ch.stderr.setEncoding('utf8');
      ch.stderr.on('data', (d: string) => (stderr += d));
      ch.on('close', (code: number | null, signal?: string) => {
        clearTimeout(timer);
        resolve({ code: code ?? null, signal: signal ?? null, stdout, stderr, truncated: false });
      });
    });
  });
}

/** One GET of etcd's /health on address:2379; true when the member has a leader and serves. */
function etcdHealthOnce(address: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port: 2379, path: '/health', timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d.slice(0, 256)));
      res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Polls etcd's health endpoint from the server until it answers healthy or the deadline passes: nothing
 * runs in the host for it (an `etcdctl endpoint health` loop there cost a Go process every 100 ms).
 */
export async function etcdHealthy(address: string, deadline: number, signal?: AbortSignal): Promise<boolean> {
  for (;;) {
    signal?.throwIfAborted();
    if (await etcdHealthOnce(address, Math.max(200, Math.min(2000, deadline - Date.now())))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}
