// A local socket that reaches a port on a lab host through that host's SSH connection (as `ssh -L`
// does), so clients that need an address of their own (etcd's gRPC, its JSON gateway) work when only
// sshd is reachable. A unix socket in a private directory: no other user of the server can use it.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';

export interface LocalForward {
  /** The unix socket's path; a client connecting to it talks to the far end. */
  readonly path: string;
  /** Stops listening, ends every piped connection and removes the socket and its directory. */
  close(): void;
}

/**
 * Listens on a fresh unix socket (mode 0700 directory) and pipes each accepted connection into a
 * stream from `open` (an SSH direct-tcpip channel). A connection whose stream cannot be opened is
 * closed at once, so the client sees the far end refuse, as it would over TCP.
 */
export function forwardLocal(open: () => Promise<Duplex>, log?: Logger): LocalForward {
  const dir = mkdtempSync(path.join(tmpdir(), 'labwright-fwd-'));
  const socketPath = path.join(dir, 's');
  const live = new Set<net.Socket>();
  let closed = false;
  const server = net.createServer((sock) => {
    if (closed) {
      sock.destroy();
      return;
    }
    live.add(sock);
    sock.on('error', () => undefined);
    let far: Duplex | null = null;
    sock.on('close', () => {
      live.delete(sock);
      far?.destroy();
    });
    open().then(
      (stream) => {
        far = stream;
        if (sock.destroyed) {
          stream.destroy();
          return;
        }
        stream.on('error', () => sock.destroy());
        stream.on('close', () => sock.destroy());
        sock.pipe(stream);
        stream.pipe(sock);
      },
      (e: unknown) => {
        log?.debug({ err: e }, 'forward: cannot open the far end');
        sock.destroy();
      },
    );
  });
  server.on('error', (e) => log?.warn({ err: e }, 'forward: the local socket failed'));
  // Binding a unix socket happens inside listen(): the path accepts connections once it returns.
  server.listen(socketPath);
  return {
    path: socketPath,
    close() {
      if (closed) return;
      closed = true;
      server.close();
      for (const s of live) s.destroy();
      live.clear();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
