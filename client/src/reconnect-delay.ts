// How long the page waits before reconnecting its WebSocket: doubling from a minimum up to a
// maximum, spread ±25% so a room of pages that lost the server together does not return together.

/** The wait before reconnect attempt `attempt` (0 for the first after a working connection). */
export function reconnectDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.min(maxMs, minMs * 2 ** attempt) * (0.75 + random() * 0.5);
}
