// The instructor credential: taken from the config, or generated at start (and printed once by
// `labwright serve`); compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface InstructorCredential {
  /** True when the offered token is the instructor's. Constant time in the token's content. */
  matches(offered: string): boolean;
  /** Whether it was generated at start (so `serve` must print it). */
  readonly generated: boolean;
  /** The token itself, for `serve` to print once; never logged. */
  readonly token: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function instructorCredential(configured: string | undefined): InstructorCredential {
  const token = configured ?? randomBytes(24).toString('base64url');
  // Comparing fixed-length digests: timingSafeEqual needs equal lengths, and the length of
  // the offered string then tells an attacker nothing either.
  const expected = digest(token);
  return {
    token,
    generated: configured === undefined,
    matches: (offered) => timingSafeEqual(digest(offered), expected),
  };
}
