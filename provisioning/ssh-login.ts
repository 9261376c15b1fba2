// Logging in to a host over SSH with whatever it needs: the environment's key, its own key, an agent,
// and a jump host in between (ProxyJump). Shared by providers (readiness, reset) and the server's connections.
import { Client } from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import type { JumpHost, SshCredentials } from './provider.ts';

export interface SshEndpoint extends SshCredentials {
  address: string;
  port: number;
  user: string;
  jump?: JumpHost;
}

/** ssh2's login fields of an endpoint (no socket options). */
export function loginConfig(t: SshEndpoint, fallbackKey?: string): ConnectConfig {
  const key = t.privateKey ?? fallbackKey;
  return {
    host: t.address,
    port: t.port,
    username: t.user,
    ...(key ? { privateKey: key } : {}),
    ...(t.agent ? { agent: t.agent } : {}),
  };
}

/** A login through a jump host failed there: says which hop, so a report names the jump host, not the target. */
export class JumpError extends Error {
  override name = 'JumpError';
}

/**
 * A TCP stream to `address:port` opened from `jump` (ssh -J). The caller passes it as `sock` to the
 * target's Client and calls close() when the target's connection ends.
 */
export function jumpStream(jump: JumpHost, address: string, port: number, timeoutMs: number): Promise<{ sock: ClientChannel; close: () => void }> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      c.end();
      reject(new JumpError(`jump host ${jump.user}@${jump.address}:${jump.port}: ${e.message}`));
    };
    // ssh2 may emit several 'error's; an unhandled one would crash the process, so this stays.
    c.on('error', fail);
    c.on('close', () => fail(new Error('closed the connection')));
    c.once('ready', () => {
      c.forwardOut('127.0.0.1', 0, address, port, (e, sock) => {
        if (e) {
          fail(new Error(`cannot reach ${address}:${port} from there: ${e.message}`));
          return;
        }
        settled = true;
        sock.on('close', () => c.end());
        resolve({ sock, close: () => c.end() });
      });
    });
    c.connect({ ...loginConfig(jump), readyTimeout: timeoutMs, keepaliveInterval: 10_000, keepaliveCountMax: 3 });
  });
}

/** Connects once (no retries); the error says which hop failed. The caller ends the client. */
export async function connectSsh(t: SshEndpoint, timeoutMs: number, fallbackKey?: string): Promise<Client> {
  const hop = t.jump ? await jumpStream(t.jump, t.address, t.port, timeoutMs) : undefined;
  return new Promise((resolve, reject) => {
    const c = new Client();
    let settled = false;
    c.on('error', (e) => {
      hop?.close();
      if (settled) return;
      settled = true;
      c.end();
      reject(e);
    });
    c.on('close', () => {
      hop?.close();
      if (settled) return;
      settled = true;
      reject(new Error('closed the connection'));
    });
    c.once('ready', () => {
      settled = true;
      resolve(c);
    });
    c.connect({ ...loginConfig(t, fallbackKey), ...(hop ? { sock: hop.sock } : {}), readyTimeout: timeoutMs, keepaliveInterval: 0 });
  });
}
