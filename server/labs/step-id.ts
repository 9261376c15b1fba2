// Step ids from headings: `## Title {#my-id}` names a step explicitly; otherwise its id is a slug of
// the title. Progress is keyed by these ids, so an edit that moves steps never moves anyone's progress.
import { MAX_STEP_ID, isStepId } from '../../common/lab.ts';

/** A trailing `{#…}` on a heading's text; what is inside is checked by isStepId. */
const EXPLICIT = /\s*\{#([^{}]*)\}$/;

export type HeadingId =
  | { kind: 'explicit'; title: string; id: string }
  | { kind: 'invalid'; title: string; written: string }
  | { kind: 'derived'; title: string };

/** Splits a heading's plain text into its title and its explicit id, if it writes one. */
export function splitHeading(text: string): HeadingId {
  const m = EXPLICIT.exec(text);
  if (!m) return { kind: 'derived', title: text };
  const title = text.slice(0, m.index).trim();
  const written = m[1] ?? '';
  return isStepId(written) ? { kind: 'explicit', title, id: written } : { kind: 'invalid', title, written };
}

/** The id a title gives: lower-case ASCII letters and digits, runs of anything else as one dash; '' when none are left. */
export function slugOf(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_STEP_ID)
    .replace(/-+$/, '');
  return slug;
}
