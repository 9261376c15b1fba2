// The help loop as both sides see it: an attendee's raised hand, the instructor's messages (to one
// attendee or the whole room) and "take the keyboard" with the attendee's consent; plus the one
// rule for what a help text may be (one line of plain text, length-capped, never markup).
import { z } from 'zod';

/** A hand's optional line of text. */
export const MAX_HAND_TEXT = 200;
/** An instructor's answer or broadcast. */
export const MAX_HELP_MESSAGE = 500;
/** Messages an attendee's page is sent (the newest). */
export const HELP_MESSAGES_SHOWN = 10;

/** Something that a browser would read as a tag or a comment: `<b`, `</`, `<!--`, `<?`. */
const TAG_LIKE = /<[A-Za-z/!?]/;
// Control characters (newlines included: a help text is one line) but not tab.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * Why a help text is refused, or undefined when it is fine. The pages show text as text (never
 * as HTML) anyway; refusing tag-like text keeps a message from looking like markup anywhere else.
 */
export function helpTextProblem(text: string, max: number): string | undefined {
  if (text.length > max) return `at most ${max} characters`;
  if (CONTROL.test(text)) return 'one line of text, without control characters';
  if (TAG_LIKE.test(text)) return 'plain text only: no HTML tags';
  return undefined;
}

/** A zod schema for a help text of at most `max` characters (empty allowed only when `optional`). */
export const helpText = (max: number, opts: { optional?: boolean } = {}) =>
  z
    .string()
    .max(max, `at most ${max} characters`)
    .min(opts.optional ? 0 : 1, 'the message is empty')
    .superRefine((s, ctx) => {
      const problem = helpTextProblem(s, max);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

export interface RaisedHand {
  raisedAt: number;
  /** The attendee's line of text, if they wrote one. */
  text?: string;
}

export interface HelpMessage {
  at: number;
  text: string;
  /** `answer`: to this attendee alone; `broadcast`: to everyone in the workshop. */
  kind: 'answer' | 'broadcast';
}

/**
 * Take the keyboard, for one attendee: `requested` (their page asks them), `granted` (the
 * instructor's mirror types into their terminal); `denied` only tells the dashboard the last
 * request was refused.
 */
export type KeyboardState = 'none' | 'requested' | 'granted' | 'denied';

/** What an attendee's lab page is sent on connect and on every change. */
export interface HelpState {
  hand?: RaisedHand;
  /** Newest first, at most HELP_MESSAGES_SHOWN. */
  messages: HelpMessage[];
  keyboard: 'none' | 'requested' | 'granted';
}

export const helpStateSchema = z.strictObject({
  hand: z.strictObject({ raisedAt: z.number(), text: z.string().max(MAX_HAND_TEXT).optional() }).optional(),
  messages: z.array(z.strictObject({ at: z.number(), text: z.string().max(MAX_HELP_MESSAGE), kind: z.enum(['answer', 'broadcast']) })).max(HELP_MESSAGES_SHOWN),
  keyboard: z.enum(['none', 'requested', 'granted']),
});
