// Faults on demand, as the instructor's dashboard and the attendee's lab page see them: which
// faults a lab offers, where each stands for an attendee, and the words of the attendee's notice.
import { z } from 'zod';

/** A fault the workshop's lab declares (never its commands). */
export interface FaultInfo {
  name: string;
  title: string;
  host: string;
  /** 0-based index of the step whose checks show it repaired. */
  step: number;
}

/**
 * Where a fired fault stands for one attendee: `firing` (its commands are running), `broken`
 * (they ran; its step's checks do not pass yet), `repaired` (they pass again), `failed` (the
 * commands could not run: nothing is known to be broken).
 */
export type FaultState = 'firing' | 'broken' | 'repaired' | 'failed';

export interface AttendeeFault {
  name: string;
  firedAt: number;
  state: FaultState;
  repairedAt?: number;
  /** Why it failed to fire. */
  message?: string;
}

/** What the attendee's page is told: no fault name or commands, only the title and the host. */
export interface FaultNotice {
  title: string;
  host: string;
  firedAt: number;
  state: 'broken' | 'repaired';
  repairedAt?: number;
}

/** The answer to one fire request, per attendee it was meant for. */
export interface FireOutcome {
  attendee: string;
  name: string;
  ok: boolean;
  message: string;
}

export const faultNoticeSchema = z.strictObject({
  title: z.string().max(200),
  host: z.string().max(63),
  firedAt: z.number(),
  state: z.enum(['broken', 'repaired']),
  repairedAt: z.number().optional(),
});

export const fireOutcomeSchema = z.strictObject({ attendee: z.string().max(100), name: z.string().max(200), ok: z.boolean(), message: z.string().max(500) });

export const noticeText = (n: FaultNotice): string =>
  n.state === 'repaired' ? `Repaired: ${n.title} (on ${n.host}).` : `Your instructor broke something on ${n.host}: ${n.title}. Find it and repair it.`;
