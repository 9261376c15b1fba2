// An SSH channel (a direct-tcpip stream) handed to node:http or node:tls as if it were a socket:
// their clients also call a socket's timer and keep-alive methods, which a channel does not have.
import type { Duplex } from 'node:stream';

/** Adds no-op socket methods the stream lacks (setTimeout, setNoDelay, setKeepAlive, ref, unref). */
export function socketLike(s: Duplex): Duplex {
  const x = s as Duplex & Record<string, unknown>;
  for (const m of ['setTimeout', 'setNoDelay', 'setKeepAlive', 'ref', 'unref']) {
    if (typeof x[m] !== 'function') x[m] = () => x;
  }
  return s;
}
