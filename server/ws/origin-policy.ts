// Which Origins may open a WebSocket: exactly one of the origins the server serves (scheme, host
// and port), never "whatever the request's own Host is", which a DNS-rebinding page controls.
// A missing or opaque ("null") Origin is refused: browsers always send a real one.

export function isAllowedOrigin(origin: string | undefined, allowed: ReadonlySet<string>): boolean {
  return origin !== undefined && origin !== 'null' && allowed.has(origin);
}
