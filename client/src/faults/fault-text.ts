// Words the dashboard uses for faults: a fault's label, where a fired fault stands, and the
// answer to a fire request. Kept apart from the DOM so they are unit-tested.
import type { AttendeeFault, FaultInfo, FireOutcome } from '../../../common/faults.ts';

export const faultLabel = (f: FaultInfo): string => `${f.title} (${f.host}, step ${f.step + 1})`;

const clock = (t: number): string => new Date(t).toLocaleTimeString();

/** "fired at 10:02:03 · still broken" / "… · repaired at 10:05:00" / "could not fire: …". */
export function faultStateText(a: AttendeeFault): string {
  switch (a.state) {
    case 'firing':
      return `firing since ${clock(a.firedAt)}…`;
    case 'broken':
      return `fired at ${clock(a.firedAt)} · still broken`;
    case 'repaired':
      return `fired at ${clock(a.firedAt)} · repaired at ${clock(a.repairedAt ?? a.firedAt)}`;
    case 'failed':
      return `could not fire at ${clock(a.firedAt)}: ${a.message ?? 'its commands failed'}`;
  }
}

/** One line for the instructor after a fire request: how many it reached, and why not the others. */
export function fireSummary(title: string, outcomes: readonly FireOutcome[]): string {
  if (outcomes.length === 0) return `"${title}": nobody to fire it for yet.`;
  const fired = outcomes.filter((o) => o.ok).length;
  const refused = outcomes.filter((o) => !o.ok).map((o) => `${o.name}: ${o.message}`);
  const head = `Fired "${title}" for ${fired} of ${outcomes.length} attendee${outcomes.length === 1 ? '' : 's'}.`;
  return refused.length === 0 ? head : `${head} Not fired — ${refused.join('; ')}.`;
}
