// What the lab page says while an attendee's hosts are being made: where they are (waiting for a boot
// slot behind others, booting, starting services) or why they could not be made. Pure, so testable.
import type { EnvState } from '../../../common/protocol.ts';

export interface HostStartText {
  /** undefined: nothing to say (the hosts are ready). */
  text: string | undefined;
  /** 'alert' for a failure (read out at once), 'status' otherwise. */
  role: 'status' | 'alert';
}

export function hostStartText(m: { state: EnvState; progress?: { done: number; total: number; message: string }; message?: string }): HostStartText {
  if (m.state === 'ready') return { text: undefined, role: 'status' };
  if (m.state === 'failed') return { text: `Your hosts could not be started: ${m.message ?? 'no reason given'}. Reload the page to try again, or ask your instructor.`, role: 'alert' };
  const p = m.progress;
  if (!p) return { text: 'Starting your hosts…', role: 'status' };
  const share = p.total > 1 && p.done > 0 ? ` (${Math.round((100 * Math.min(p.done, p.total)) / p.total)} %)` : '';
  return { text: `Starting your hosts: ${p.message}${share}…`, role: 'status' };
}
