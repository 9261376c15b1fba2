// Small words of the help loop shared by the lab page and the dashboard.

/** A message's or hand's time of day, as the browser's locale writes hours and minutes. */
export const helpTime = (at: number): string => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** How long a hand has been up, in whole minutes: "just now", "1 min", "12 min". */
export function waitingFor(ms: number): string {
  const min = Math.floor(Math.max(0, ms) / 60_000);
  return min === 0 ? 'just now' : `${min} min`;
}
